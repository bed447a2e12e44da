// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelsState } from '../../state/models.svelte';
import { MemoryBackend, modelCard } from '../../testing/memory-backend';
import ModelsView from '../library/ModelsView.svelte';
import { render, settle, type Mounted } from './helpers';

let backend: MemoryBackend;
let view: Mounted;

beforeEach(async () => {
  backend = new MemoryBackend();
  backend.models = [modelCard('base')];
  view = render(ModelsView, { models: new ModelsState(backend) });
  await settle();
});

afterEach(() => view.destroy());

function input(label: string): HTMLInputElement | HTMLTextAreaElement {
  const el = view.target.querySelector<HTMLInputElement>(`[aria-label="${label}"]`);
  if (!el) throw new Error('no field ' + label);
  return el;
}

function type(label: string, value: string) {
  const el = input(label);
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

function button(text: string): HTMLButtonElement {
  const b = Array.from(view.target.querySelectorAll('button')).find((x) => x.textContent?.trim() === text);
  if (!b) throw new Error('no button ' + text);
  return b;
}

describe('Customize', () => {
  it('makes a model with a system prompt, parameters and an adapter with its scale', async () => {
    button('Customize').click();
    await settle();
    type('Name', 'pirate');
    type('System prompt', 'You are a pirate.');
    type('Temperature', '0.3');
    button('LoRA adapter…').click();
    await settle();
    type('Adapter scale', '0.5');
    button('Create').click();
    await settle();
    expect(backend.created).toEqual([
      { name: 'pirate', from: 'base', system: 'You are a pirate.', parameters: { temperature: 0.3 }, adapter: '/adapters/tone.gguf', adapterScale: 0.5 },
    ]);
    const names = Array.from(view.target.querySelectorAll('[data-testid="model-card"] h2')).map((h) => h.textContent);
    expect(names).toContain('pirate');
    expect(view.target.querySelector('form.customize')).toBeNull();
  });

  it('shows the refusal and keeps the dialog open', async () => {
    button('Customize').click();
    await settle();
    type('Name', 'base');
    button('Create').click();
    await settle();
    expect(view.target.textContent).toContain('name already in use');
    expect(view.target.querySelector('form.customize')).not.toBeNull();
  });
});
