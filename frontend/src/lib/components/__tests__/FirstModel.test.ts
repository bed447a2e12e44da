// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreEntry } from '../../api';
import { ChatsState } from '../../state/chats.svelte';
import { ModelsState } from '../../state/models.svelte';
import { StoreState } from '../../state/store.svelte';
import { MemoryBackend, modelCard } from '../../testing/memory-backend';
import ChatsView from '../chat/ChatsView.svelte';
import { byText, render, settle, until, type Mounted } from './helpers';

const fit = { context: 4096, weights: 1, kvCache: 1, buffers: 1, total: 1_500_000_000, available: 12e9, verdict: 'fits', exact: true };
const qwen: StoreEntry = {
  model: {
    id: 'qwen2.5-1.5b-instruct', name: 'Qwen2.5 1.5B Instruct', family: 'qwen2', params: '1.5B', repo: 'org/qwen',
    license: 'apache-2.0', description: 'A good balance.', contextLength: 32768, default: 'Q4_K_M',
    variants: [{ quant: 'Q4_K_M', file: 'q.gguf', size: 1_120_000_000 }],
  },
  variants: [{ quant: 'Q4_K_M', file: 'q.gguf', size: 1_120_000_000, name: 'qwen2.5-1.5b-instruct:Q4_K_M', installed: false, fit }],
};

let backend: MemoryBackend;
let store: StoreState;
let view: Mounted;
let offs: (() => void)[];

async function open(): Promise<void> {
  const models = new ModelsState(backend);
  const chats = new ChatsState(backend, () => models.models[0]?.name ?? '');
  store = new StoreState(backend);
  offs = [chats.subscribe(), models.subscribe(), store.subscribe()];
  view = render(ChatsView, { chats, models, store, backend });
  await settle();
}

beforeEach(() => {
  backend = new MemoryBackend();
  backend.models = []; // first run
  backend.catalog = [qwen];
});

afterEach(() => {
  offs.forEach((off) => off());
  view.destroy();
});

const offer = () => view.target.querySelector<HTMLElement>('[data-testid="first-model"]')!;

describe('the first-run offer on the empty Chats screen', () => {
  it('offers the model that suits this machine with its size, and downloads it in one click', async () => {
    await open();
    await until(() => offer()?.textContent?.includes('Qwen2.5 1.5B Instruct') ?? false, 'the offer');
    expect(offer().textContent).toContain('suits 8.0 GB of free memory');
    expect(offer().querySelector('[data-testid="first-model-size"]')!.textContent).toBe('1.1 GB');
    expect(offer().querySelector('[data-testid="offline"]')).toBeNull();

    byText(offer(), 'button', 'Download Qwen2.5 1.5B Instruct (1.1 GB)').click();
    await until(() => offer().querySelector('[data-testid="download"]') !== null, 'the download');
    expect(backend.pulls).toEqual(['qwen2.5-1.5b-instruct:Q4_K_M']);
    backend.progress({ id: 'dl-1', state: 'running', done: 400, total: 1000, eta: 5e9 });
    await settle();
    expect(offer().querySelector('progress')!.value).toBe(400);
    expect(offer().textContent).toMatch(/400 B of 1.0 KB\s*· 5s left/);
  });

  it('says plainly when there is no network, and checks again on request', async () => {
    backend.recommendation = {
      model: qwen.model, variant: qwen.variants[0], available: 12e9,
      offline: 'huggingface.co cannot be looked up',
    };
    await open();
    const note = () => offer().querySelector('[data-testid="offline"]');
    await until(() => note() !== null, 'the offline note');
    expect(note()!.textContent).toContain('No network: huggingface.co cannot be looked up');
    expect(offer().textContent).toContain('Qwen2.5 1.5B Instruct'); // still named, for when the network is back

    backend.recommendation = { ...backend.recommendation, offline: '' };
    byText(offer(), 'button', 'Try again').click();
    await until(() => note() === null, 'the note to go');
  });

  it('says so when no catalog model fits', async () => {
    backend.recommendation = { available: 200e6, offline: '' };
    await open();
    await until(() => offer()?.textContent?.includes('No model in the catalog fits in 200 MB of free memory') ?? false, 'the message');
    expect(offer().querySelector('button')).toBeNull();
  });

  it('is not shown once a model is installed', async () => {
    backend.models = [modelCard('tiny')];
    await open();
    expect(view.target.querySelector('[data-testid="first-model"]')).toBeNull();
    expect(view.target.textContent).toContain('Start a new chat');
  });
});
