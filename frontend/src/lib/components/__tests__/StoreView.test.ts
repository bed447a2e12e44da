// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreEntry } from '../../api';
import { StoreState } from '../../state/store.svelte';
import { MemoryBackend } from '../../testing/memory-backend';
import StoreView from '../store/StoreView.svelte';
import { byText, render, settle, typeInto, until, type Mounted } from './helpers';

function entry(id: string, name: string, installed = false): StoreEntry {
  const fit = { context: 4096, weights: 1, kvCache: 1, buffers: 1, total: 700_000_000, available: 8e9, verdict: 'fits comfortably', exact: true };
  return {
    model: {
      id, name, family: 'qwen2', params: '0.5B', repo: 'org/' + id, license: 'apache-2.0', description: 'A small model.',
      contextLength: 32768, default: 'Q4_K_M',
      variants: [
        { quant: 'Q4_K_M', file: 'a.gguf', size: 400_000_000 },
        { quant: 'Q8_0', file: 'b.gguf', size: 600_000_000 },
      ],
    },
    variants: [
      { quant: 'Q4_K_M', file: 'a.gguf', size: 400_000_000, name: `${id}:Q4_K_M`, installed, fit },
      { quant: 'Q8_0', file: 'b.gguf', size: 600_000_000, name: `${id}:Q8_0`, installed: false, fit: { ...fit, total: 900_000_000 } },
    ],
  };
}

let backend: MemoryBackend;
let store: StoreState;
let view: Mounted;
let off: () => void;

beforeEach(async () => {
  backend = new MemoryBackend();
  backend.catalog = [entry('qwen-small', 'Qwen Small'), entry('llama-tiny', 'Llama Tiny', true)];
  store = new StoreState(backend);
  off = store.subscribe();
  view = render(StoreView, { store });
  await settle();
});

afterEach(() => {
  off();
  view.destroy();
});

const $$ = (sel: string) => Array.from(view.target.querySelectorAll<HTMLElement>(sel));

describe('the store view', () => {
  it('lists the catalog with sizes, fit and what is installed', () => {
    const cards = $$('[data-testid="catalog-model"]');
    expect(cards.map((c) => c.querySelector('h2')!.textContent)).toEqual(['Qwen Small', 'Llama Tiny']);
    expect(cards[0].querySelector('select')!.textContent).toContain('Q4_K_M — 400 MB');
    expect(cards[0].textContent).toContain('needs about 700 MB — fits comfortably');
    expect(cards[1].textContent).toContain('Installed as llama-tiny:Q4_K_M');
  });

  it('searches', async () => {
    typeInto(view.target.querySelector<HTMLInputElement>('input[type="search"]')!, 'llama');
    await until(() => $$('[data-testid="catalog-model"]').length === 1, 'one result');
    expect($$('[data-testid="catalog-model"]')[0].textContent).toContain('Llama Tiny');
  });

  it('downloads the chosen quant and shows progress, rate and ETA, pause, resume and cancel', async () => {
    const card = $$('[data-testid="catalog-model"]')[0];
    const select = card.querySelector('select')!;
    select.value = 'Q8_0';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    expect(card.textContent).toContain('needs about 900 MB');
    byText(card, 'button', 'Download').click();
    await until(() => $$('[data-testid="download"]').length === 1, 'the download row');
    expect(backend.pulls).toEqual(['qwen-small:Q8_0']);

    backend.progress({ id: 'dl-1', state: 'running', done: 250, total: 1000, rate: 2_000_000, eta: 65e9 });
    await settle();
    const row = $$('[data-testid="download"]')[0];
    expect(row.querySelector('progress')!.value).toBe(250);
    expect(row.querySelector('[data-testid="download-progress"]')!.textContent).toMatch(/250 B of 1.0 KB\s*· 2.0 MB\/s\s*· 1m 05s left/);

    byText(row, 'button', 'Pause').click();
    await until(() => $$('[data-testid="download"]')[0].dataset.state === 'paused', 'paused');
    byText($$('[data-testid="download"]')[0], 'button', 'Resume').click();
    await until(() => $$('[data-testid="download"]')[0].dataset.state === 'queued', 'resumed');
    byText($$('[data-testid="download"]')[0], 'button', 'Cancel').click();
    await until(() => $$('[data-testid="download"]').length === 0, 'cancelled');
  });

  it('shows a failed download with its reason and offers to resume', async () => {
    await store.pull('qwen-small:Q4_K_M');
    backend.progress({ id: 'dl-1', state: 'failed', error: 'checksum mismatch' });
    await settle();
    const row = $$('[data-testid="download"]')[0];
    expect(row.querySelector('[role="alert"]')!.textContent).toBe('checksum mismatch');
    expect(byText(row, 'button', 'Resume')).toBeTruthy();
  });
});
