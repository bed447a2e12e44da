import { describe, expect, it } from 'vitest';
import type { ModelCard } from '../api';
import { MemoryBackend } from '../testing/memory-backend';
import { ChatsState, snippetParts } from './chats.svelte';

async function streamingChat() {
  const backend = new MemoryBackend();
  const chats = new ChatsState(backend, () => 'tiny');
  const off = chats.subscribe();
  await chats.newChat();
  await chats.send('hi');
  const id = chats.streaming;
  const conversationId = chats.current!.id;
  const token = (seq: number, text: string) =>
    backend.emit('chat', { type: 'token', conversationId, messageId: id, seq, text });
  return { backend, chats, off, id, conversationId, token };
}

describe('ChatsState streaming', () => {
  it('puts pieces that arrive out of order back in order', async () => {
    const { chats, id, token, off } = await streamingChat();
    token(2, ' world');
    expect(chats.live[id]).toBe('');
    token(1, 'Hello');
    expect(chats.live[id]).toBe('Hello world');
    token(4, '!');
    token(3, ' again');
    token(3, ' again'); // a duplicate changes nothing
    expect(chats.live[id]).toBe('Hello world again!');
    off();
  });

  it('ignores pieces and a start that arrive after the end', async () => {
    const { backend, chats, id, conversationId, token, off } = await streamingChat();
    token(1, 'Hi');
    const msg = backend.messages.find((m) => m.id === id)!;
    msg.content = 'Hi there';
    backend.finish(id, 'done');
    token(2, ' there'); // late
    backend.emit('chat', { type: 'start', conversationId, messageId: id });
    expect(chats.live[id]).toBeUndefined();
    expect(chats.streaming).toBe(0);
    const shown = chats.thread!.messages.find((m) => m.id === id)!;
    expect(chats.text(shown)).toBe('Hi there');
    off();
  });

  it('keeps the newest model-load state when events cross', async () => {
    const backend = new MemoryBackend();
    const chats = new ChatsState(backend);
    const off = chats.subscribe();
    backend.emit('model-load', { seq: 2, model: 'tiny', state: 'ready', loadMs: 5 });
    backend.emit('model-load', { seq: 1, model: 'tiny', state: 'loading' });
    expect(chats.modelLoad?.state).toBe('ready');
    off();
  });
});

describe('snippetParts', () => {
  it.each([
    ['plain', [{ text: 'plain', match: false }]],
    ['a \u0002b\u0003 c', [{ text: 'a ', match: false }, { text: 'b', match: true }, { text: ' c', match: false }]],
    ['\u0002x\u0003\u0002y\u0003', [{ text: 'x', match: true }, { text: 'y', match: true }]],
    ['<b>\u0002tag\u0003</b>', [{ text: '<b>', match: false }, { text: 'tag', match: true }, { text: '</b>', match: false }]],
  ])('%j', (snippet, parts) => {
    expect(snippetParts(snippet)).toEqual(parts);
  });
});

describe('progress that arrives out of order', () => {
  it('never moves an import back from done or a download backwards', async () => {
    const { ModelsState } = await import('./models.svelte');
    const { StoreState } = await import('./store.svelte');
    const backend = new MemoryBackend();
    const models = new ModelsState(backend);
    const base = { kind: 'import', name: 'a.gguf', total: 100, rate: 0, eta: 0 };
    models.onProgress({ ...base, id: 'i1', state: 'running', done: 50 });
    models.onProgress({ ...base, id: 'i1', state: 'done', done: 100 });
    models.onProgress({ ...base, id: 'i1', state: 'running', done: 80 });
    expect(models.imports[0]).toMatchObject({ state: 'done', done: 100 });

    const store = new StoreState(backend);
    const dl = { kind: 'download', name: 'm', total: 100, rate: 1, eta: 0 };
    store.onProgress({ ...dl, id: 'd1', state: 'running', done: 60 });
    store.onProgress({ ...dl, id: 'd1', state: 'running', done: 40 });
    expect(store.downloads[0].done).toBe(60);
    store.onProgress({ ...dl, id: 'd1', state: 'done', done: 100 });
    store.onProgress({ ...dl, id: 'd1', state: 'running', done: 90 });
    expect(store.downloads[0].state).toBe('done');
  });
});

describe('model list loads that overlap', () => {
  it('keeps the answer of the latest load, whichever comes back first', async () => {
    const { ModelsState } = await import('./models.svelte');
    const backend = new MemoryBackend();
    const answers: Array<(m: ModelCard[]) => void> = [];
    backend.listModels = () => new Promise((resolve) => answers.push(resolve));
    const models = new ModelsState(backend);
    const before = models.load(); // e.g. the Models view opening
    const after = models.load(); // e.g. an import that just finished
    const card = (await new MemoryBackend().listModels())[0];
    answers[1]([card]);
    await after;
    answers[0]([]); // the older answer arrives last
    await before;
    expect(models.models.map((m) => m.name)).toEqual([card.name]);
    expect(models.loaded).toBe(true);
  });
});
