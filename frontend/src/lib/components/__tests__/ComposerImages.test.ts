// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatsState } from '../../state/chats.svelte';
import { ModelsState } from '../../state/models.svelte';
import { StoreState } from '../../state/store.svelte';
import { MemoryBackend } from '../../testing/memory-backend';
import ChatsView from '../chat/ChatsView.svelte';
import { byText, press, render, settle, typeInto, until, type Mounted } from './helpers';

// A 1x1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let backend: MemoryBackend;
let chats: ChatsState;
let view: Mounted;
let off: () => void;
let models: ModelsState;

beforeEach(async () => {
  backend = new MemoryBackend();
  models = new ModelsState(backend);
  await models.load();
  chats = new ChatsState(backend, () => models.models[0]?.name ?? '');
  off = chats.subscribe();
  view = render(ChatsView, { chats, models, store: new StoreState(backend), backend });
  await settle();
  byText(view.target, 'button', 'New chat').click();
  await until(() => chats.current?.model === 'tiny', 'a chat with the first model');
});

afterEach(() => {
  off();
  view.destroy();
});

const $ = <T extends Element = HTMLElement>(sel: string) => view.target.querySelector<T>(sel);

describe('images in the message box', () => {
  it('a dropped picture shows as a thumbnail and goes with the question', async () => {
    backend.models[0].projector = '/models/mmproj.gguf';
    await models.load();
    backend.emit('images:dropped', [{ name: 'cat.png', image: { mime: 'image/png', data: png } }]);
    await until(() => !!$('[data-testid="attachment"]'), 'a thumbnail');
    expect($<HTMLImageElement>('[data-testid="attachment"]')!.src).toBe(`data:image/png;base64,${png}`);
    const box = $<HTMLTextAreaElement>('textarea[aria-label="Message"]')!;
    typeInto(box, 'What is this?');
    press(box, 'Enter');
    await until(() => backend.messages.length > 0, 'the question');
    expect(backend.messages[0].images).toEqual([{ mime: 'image/png', data: png }]);
    await until(() => !$('[data-testid="attachment"]'), 'the box to empty');
    await until(() => !!$('[data-testid="message-image"]'), 'the picture in the thread');
  });

  it('a model without a projector says so instead of sending', async () => {
    await settle();
    const attach = byText(view.target, 'button', 'Attach image') as HTMLButtonElement;
    expect(attach.disabled).toBe(true);
    expect(attach.title).toMatch(/tiny has no vision projector/);
    backend.emit('images:dropped', [{ name: 'cat.png', image: { mime: 'image/png', data: png } }]);
    await until(() => !!$('[data-testid="no-vision"]'), 'the warning');
    expect($('[data-testid="no-vision"]')!.textContent).toMatch(/tiny cannot see images/);
    const box = $<HTMLTextAreaElement>('textarea[aria-label="Message"]')!;
    typeInto(box, 'What is this?');
    press(box, 'Enter');
    await settle();
    expect(backend.messages).toHaveLength(0);
  });

  it('a file that is not a picture is refused when attached', async () => {
    backend.emit('images:dropped', [{ name: 'notes.png', image: { mime: '', data: '' }, error: 'not a PNG, JPEG, GIF or WebP image' }]);
    await until(() => !!$('[data-testid="attach-error"]'), 'the error');
    expect($('[data-testid="attach-error"]')!.textContent).toMatch(/notes\.png: not a PNG/);
  });
});
