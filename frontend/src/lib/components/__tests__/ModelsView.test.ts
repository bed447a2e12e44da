// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelsState } from '../../state/models.svelte';
import { MemoryBackend, modelCard } from '../../testing/memory-backend';
import ModelsView from '../library/ModelsView.svelte';
import { render, settle, type Mounted } from './helpers';

let backend: MemoryBackend;
let models: ModelsState;
let view: Mounted;

beforeEach(async () => {
  backend = new MemoryBackend();
  const bert = modelCard('tiny-bert');
  bert.meta = { ...bert.meta, architecture: 'bert' };
  bert.support = { supported: false, reason: 'architecture "bert" is not supported (supported: llama, qwen2)' };
  const mamba = modelCard('mamba-no-reason');
  mamba.meta = { ...mamba.meta, architecture: 'mamba' };
  mamba.support = { supported: false };
  const runs = modelCard('runs');
  runs.support = { supported: true };
  const split = modelCard('split');
  Object.assign(split, { loaded: true, device: 'vulkan0+cpu', gpuLayers: 4, layers: 16 });
  const onCPU = modelCard('on-cpu');
  Object.assign(onCPU, { loaded: true, device: 'cpu', gpuLayers: 0, layers: 16 });
  backend.models = [modelCard('older-backend'), runs, bert, mamba, split, onCPU];
  models = new ModelsState(backend);
  view = render(ModelsView, { models });
  await settle();
});

afterEach(() => view.destroy());

function card(name: string): HTMLElement {
  const c = Array.from(view.target.querySelectorAll<HTMLElement>('[data-testid="model-card"]')).find(
    (e) => e.querySelector('h2')?.textContent === name,
  );
  if (!c) throw new Error('no card for ' + name);
  return c;
}

describe('the models view', () => {
  it('says plainly which models cannot run here, naming the architecture', () => {
    const note = card('tiny-bert').querySelector('[data-testid="unsupported"]');
    expect(note).not.toBeNull();
    expect(note!.textContent).toContain("Can't run here");
    expect(note!.textContent).toContain('architecture "bert" is not supported (supported: llama, qwen2)');
    expect(card('tiny-bert').classList.contains('cannot-run')).toBe(true);
  });

  it('names the architecture even when the backend gives no reason', () => {
    expect(card('mamba-no-reason').querySelector('[data-testid="unsupported"]')!.textContent).toContain(
      'architecture "mamba" is not supported',
    );
  });

  it('says where a loaded model runs: the device and its layers there', () => {
    expect(card('split').querySelector('[data-testid="runs-on"]')!.textContent).toBe(
      'Loaded on vulkan0: 4 of 16 layers, the rest on the CPU',
    );
    expect(card('on-cpu').querySelector('[data-testid="runs-on"]')!.textContent).toBe('Loaded on the CPU');
    expect(card('runs').querySelector('[data-testid="runs-on"]')).toBeNull();
  });

  it('shows no badge on models that run, or when the backend does not say', () => {
    for (const name of ['runs', 'older-backend']) {
      expect(card(name).querySelector('[data-testid="unsupported"]')).toBeNull();
      expect(card(name).classList.contains('cannot-run')).toBe(false);
    }
  });
});
