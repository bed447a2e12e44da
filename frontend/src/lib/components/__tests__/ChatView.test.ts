// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatsState } from '../../state/chats.svelte';
import { ModelsState } from '../../state/models.svelte';
import { StoreState } from '../../state/store.svelte';
import { MemoryBackend } from '../../testing/memory-backend';
import ChatsView from '../chat/ChatsView.svelte';
import { byText, press, render, settle, typeInto, until, type Mounted } from './helpers';

let backend: MemoryBackend;
let chats: ChatsState;
let view: Mounted;
let off: () => void;

beforeEach(async () => {
  backend = new MemoryBackend();
  const models = new ModelsState(backend);
  chats = new ChatsState(backend, () => models.models[0]?.name ?? '');
  off = chats.subscribe();
  view = render(ChatsView, { chats, models, store: new StoreState(backend), backend });
  await settle();
});

afterEach(() => {
  off();
  view.destroy();
});

const $ = <T extends Element = HTMLElement>(sel: string) => view.target.querySelector<T>(sel);
const $$ = (sel: string) => Array.from(view.target.querySelectorAll<HTMLElement>(sel));
const replies = () => $$('[data-role="assistant"]');

async function startChat(): Promise<void> {
  byText(view.target, 'button', 'New chat').click();
  await until(() => chats.current?.model === 'tiny', 'a chat with the first model');
}

async function sendWithEnter(text: string): Promise<number> {
  const box = $<HTMLTextAreaElement>('textarea[aria-label="Message"]')!;
  typeInto(box, text);
  press(box, 'Enter');
  await until(() => replies().length > 0 && chats.streaming !== 0, 'the reply to start');
  return chats.streaming;
}

describe('the chat view', () => {
  it('shows an empty state, then a new chat with the first installed model', async () => {
    // Said once, in the panel; the empty sidebar does not repeat it.
    expect(view.target.textContent!.split('No conversations yet')).toHaveLength(2);
    await startChat();
    expect($<HTMLSelectElement>('select[aria-label="Model"]')!.value).toBe('tiny');
  });

  it('sends with Enter, streams tokens into the reply as they arrive, and shows stats', async () => {
    await startChat();
    const box = $<HTMLTextAreaElement>('textarea[aria-label="Message"]')!;
    typeInto(box, 'line one');
    press(box, 'Enter', { shiftKey: true }); // a new line, not a send
    expect(backend.messages).toHaveLength(0);

    const id = await sendWithEnter('Hello **model**');
    expect($$('[data-role="user"]')[0].textContent).toContain('Hello **model**'); // user text stays plain
    expect(byText(view.target, 'button', 'Stop')).toBeTruthy();

    backend.stream(id, ['Hi'], true);
    await settle();
    expect(replies()[0].querySelector('[data-testid="reply-text"]')!.textContent!.trim()).toBe('Hi');
    backend.stream(id, [' there', ', **friend**']);
    await settle();
    const reply = replies()[0];
    expect(reply.querySelector('[data-testid="reply-text"]')!.textContent!.trim()).toBe('Hi there, friend');
    expect(reply.querySelector('strong')!.textContent).toBe('friend'); // Markdown rendered
    expect(reply.querySelector('[data-testid="stats"]')!.textContent).toMatch(/12 prompt · 3 generated · first token 40 ms · 25.5 tokens\/s/);
    expect(byText(view.target, 'button', 'Send')).toBeTruthy();
    expect(box.value).toBe('');
  });

  it('stops the reply with the Stop button', async () => {
    await startChat();
    const id = await sendWithEnter('Tell me a story');
    backend.stream(id, ['Once'], true);
    await settle();
    byText(view.target, 'button', 'Stop').click();
    await until(() => chats.streaming === 0, 'the reply to stop');
    expect(backend.stopped).toEqual([chats.current!.id]);
    expect(replies()[0].textContent).toContain('Stopped');
    expect(replies()[0].textContent).toContain('Once');
  });

  it('regenerates and edits as branches with a version switcher', async () => {
    await startChat();
    const first = await sendWithEnter('What is 2+2?');
    backend.stream(first, ['Four']);
    await settle();

    byText(view.target, 'button', 'Regenerate').click();
    await until(() => chats.streaming !== 0, 'the second reply');
    backend.stream(chats.streaming, ['4']);
    await until(() => replies()[0]?.textContent?.includes('2/2') ?? false, 'the switcher');
    expect(replies()[0].querySelector('[data-testid="reply-text"]')!.textContent!.trim()).toBe('4');

    replies()[0].querySelector<HTMLButtonElement>('button[aria-label="Previous version"]')!.click();
    await until(() => replies()[0]?.textContent?.includes('1/2') ?? false, 'the first version');
    expect(replies()[0].querySelector('[data-testid="reply-text"]')!.textContent!.trim()).toBe('Four');

    // Edit the question: a new branch of the question.
    byText($$('[data-role="user"]')[0], 'button', 'Edit').click();
    await settle();
    const editor = $<HTMLTextAreaElement>('textarea[aria-label="Edit message"]')!;
    typeInto(editor, 'What is 3+3?');
    byText(view.target, 'button', 'Save & send').click();
    await until(() => chats.streaming !== 0, 'the edited reply');
    backend.stream(chats.streaming, ['Six']);
    await until(() => $$('[data-role="user"]')[0]?.textContent?.includes('2/2') ?? false, 'the question switcher');
    expect($$('[data-role="user"]')[0].textContent).toContain('What is 3+3?');
    expect(replies()[0].textContent).toContain('Six');
  });

  it('warns clearly and refuses to send when the conversation does not fit', async () => {
    await startChat();
    backend.usageResult = { tokens: 600, limit: 512, fits: false };
    typeInto($<HTMLTextAreaElement>('textarea[aria-label="Message"]')!, 'a very long message');
    await until(() => $('[data-testid="context-warning"]') !== null, 'the warning');
    expect($('[data-testid="context-warning"]')!.textContent).toContain('600 tokens of 512');
    expect(byText(view.target, 'button', 'Send').hasAttribute('disabled')).toBe(true);
    expect($('[data-testid="context-meter"]')!.textContent).toContain('600 / 512 tokens');
  });

  it('shows model output safely and opens links through the backend', async () => {
    await startChat();
    const id = await sendWithEnter('Show me');
    backend.stream(id, ['<img src=x onerror="window.hacked=1"> [site](https://example.com) [bad](javascript:alert(1))']);
    await settle();
    const reply = replies()[0];
    expect(reply.querySelector('img')).toBeNull();
    expect((window as unknown as { hacked?: number }).hacked).toBeUndefined();
    const links = Array.from(reply.querySelectorAll('a'));
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com']);
    links[0].click();
    expect(backend.opened).toEqual(['https://example.com']);
  });

  it('searches history and opens the conversation of a hit', async () => {
    await startChat();
    const id = await sendWithEnter('Where do zebras live?');
    backend.stream(id, ['In Africa.']);
    await settle();
    await chats.newChat();
    await settle();
    chats.openSearch();
    await settle();
    const input = $<HTMLInputElement>('input[aria-label="Search chats"]')!;
    typeInto(input, 'zebras');
    await until(() => $$('[data-testid="search-results"] li button').length === 1, 'a hit');
    const hit = $$('[data-testid="search-results"] li button')[0];
    expect(hit.querySelector('mark')!.textContent).toBe('zebras');
    hit.click();
    await until(() => $$('[data-role="user"]').length === 1, 'the conversation');
    expect($$('[data-role="user"]')[0].textContent).toContain('Where do zebras live?');
  });
});
