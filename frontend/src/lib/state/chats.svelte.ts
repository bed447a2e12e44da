// Conversations: the list, the one on screen with its branch, replies
// streaming in (from 'chat' events), the context meter and history search.

import {
  errorMessage,
  isNoDataError,
  type Backend,
  type ChatEvent,
  type ChatImage,
  type ContextUsage,
  type Conversation,
  type Hit,
  type Message,
  type ModelDefaults,
  type ModelLoadEvent,
  type Params,
  type Thread,
  type ThreadMessage,
} from '../api';

/** Splits a search snippet into plain and matched parts (the backend marks matches with \u0002 … \u0003). */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  for (const [i, chunk] of snippet.split('\u0002').entries()) {
    if (i === 0) {
      if (chunk) parts.push({ text: chunk, match: false });
      continue;
    }
    const [hit, rest = ''] = chunk.split('\u0003');
    if (hit) parts.push({ text: hit, match: true });
    if (rest) parts.push({ text: rest, match: false });
  }
  return parts;
}

export interface ModelLoad {
  model: string;
  state: 'loading' | 'ready' | 'failed';
  loadMs?: number;
  error?: string;
}

export class ChatsState {
  conversations = $state<Conversation[]>([]);
  thread = $state<Thread | null>(null);
  error = $state<string | null>(null);
  usage = $state<ContextUsage | null>(null);
  /** Text streamed so far per reply id; shown instead of the stored text while it streams. */
  live = $state<Record<number, string>>({});
  /** Replies waiting for the model to load. */
  loadingReplies = $state<Record<number, boolean>>({});
  modelLoad = $state<ModelLoad | null>(null);
  defaults = $state<ModelDefaults | null>(null);
  searchOpen = $state(false);
  searchQuery = $state('');
  searchHits = $state<Hit[]>([]);
  sending = $state(false);

  private usageTimer: ReturnType<typeof setTimeout> | null = null;
  /** Replies finished while this window watched: a thread fetched before
   *  the end arrived shows them as they ended, not as they were. */
  private finals = new Map<number, Message>();
  /** Per reply: the next piece expected, and pieces that came early. */
  private nextSeq = new Map<number, number>();
  private early = new Map<number, Map<number, string>>();
  private loadSeq = 0;
  private searchSeq = 0;

  /** fallbackModel names the model of a new chat when no earlier chat has one. */
  constructor(
    private backend: Backend,
    private fallbackModel: () => string = () => '',
  ) {}

  /** Listens to the backend's chat and model-load events; returns the unsubscribe function. */
  subscribe(): () => void {
    const offChat = this.backend.onChat((ev) => this.onChat(ev));
    const offLoad = this.backend.onModelLoad((ev) => this.onModelLoad(ev));
    return () => {
      offChat();
      offLoad();
    };
  }

  get current(): Conversation | null {
    return this.thread?.conversation ?? null;
  }

  /** The reply streaming in the conversation on screen (0: none). */
  get streaming(): number {
    return this.thread?.streaming ?? 0;
  }

  /** The last message of the branch on screen (0: empty conversation). */
  get leaf(): number {
    const msgs = this.thread?.messages ?? [];
    return msgs.length ? msgs[msgs.length - 1].id : 0;
  }

  /** The text to show for a message: live while streaming, else stored. */
  text(m: ThreadMessage): string {
    return this.live[m.id] ?? m.content;
  }

  async load(): Promise<void> {
    try {
      this.conversations = await this.backend.listConversations();
      this.error = null;
    } catch (err) {
      if (!isNoDataError(err)) this.error = errorMessage(err);
    }
  }

  async open(id: number): Promise<void> {
    try {
      this.setThread(await this.backend.getThread(id));
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  private setThread(th: Thread): void {
    for (const m of th.messages) {
      const f = this.finals.get(m.id);
      if (f) Object.assign(m, { ...f, siblings: m.siblings, siblingIndex: m.siblingIndex });
    }
    if (this.finals.has(th.streaming)) th.streaming = 0;
    this.thread = th;
    const i = this.conversations.findIndex((c) => c.id === th.conversation.id);
    if (i >= 0) this.conversations[i] = th.conversation;
    else this.conversations.unshift(th.conversation);
    void this.loadDefaults(th.conversation.model);
    this.scheduleUsage('', 0);
  }

  private async refresh(): Promise<void> {
    if (this.thread) await this.open(this.thread.conversation.id);
  }

  /** Starts a conversation with model (default: the last one used). */
  async newChat(model?: string): Promise<void> {
    try {
      const m = model ?? (this.current?.model || this.conversations[0]?.model || this.fallbackModel());
      const c = await this.backend.newConversation(m);
      this.conversations.unshift(c);
      this.setThread({ conversation: c, messages: [], streaming: 0 });
      this.error = null;
      if (m) await this.backend.loadModel(m);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Sends a question after the last message on screen. Returns false (with error set) when refused. */
  async send(text: string, images: ChatImage[] = []): Promise<boolean> {
    const th = this.thread;
    if (!th || !text.trim() || this.sending) return false;
    this.sending = true;
    try {
      await this.backend.sendMessage(th.conversation.id, this.leaf, text, images);
      this.error = null;
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    } finally {
      this.sending = false;
    }
  }

  async stop(): Promise<void> {
    if (this.thread && this.streaming) {
      try {
        await this.backend.stopReply(this.thread.conversation.id);
      } catch (err) {
        this.error = errorMessage(err);
      }
    }
  }

  async regenerate(messageId: number): Promise<void> {
    try {
      await this.backend.regenerate(messageId);
      this.error = null;
      await this.refresh();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Resends an edited question as a new branch. */
  async edit(messageId: number, text: string): Promise<boolean> {
    try {
      await this.backend.editMessage(messageId, text);
      this.error = null;
      await this.refresh();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    }
  }

  /** Shows the previous (-1) or next (+1) version of a message. */
  async switchVersion(m: ThreadMessage, delta: number): Promise<void> {
    const target = m.siblings[m.siblingIndex + delta];
    if (target === undefined) return;
    try {
      this.setThread(await this.backend.selectBranch(target));
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async rename(id: number, title: string): Promise<void> {
    try {
      const c = await this.backend.renameConversation(id, title);
      this.replaceConversation(c);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async remove(id: number): Promise<void> {
    try {
      await this.backend.deleteConversation(id);
      this.conversations = this.conversations.filter((c) => c.id !== id);
      if (this.thread?.conversation.id === id) this.thread = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Exports the conversation on screen; returns the file written ('' when cancelled). */
  async exportAs(format: 'markdown' | 'json'): Promise<string> {
    if (!this.thread) return '';
    try {
      return await this.backend.exportConversation(this.thread.conversation.id, format);
    } catch (err) {
      this.error = errorMessage(err);
      return '';
    }
  }

  /** Stores the model, system prompt and parameters; a new model starts loading at once. */
  async configure(model: string, system: string, params: Params): Promise<void> {
    const c = this.current;
    if (!c) return;
    try {
      const updated = await this.backend.configureConversation(c.id, model, system, params);
      this.replaceConversation(updated);
      if (model && model !== c.model) {
        void this.loadDefaults(model);
        await this.backend.loadModel(model);
      }
      this.scheduleUsage('', 0);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  private replaceConversation(c: Conversation): void {
    const i = this.conversations.findIndex((x) => x.id === c.id);
    if (i >= 0) this.conversations[i] = c;
    if (this.thread?.conversation.id === c.id) this.thread.conversation = c;
  }

  private async loadDefaults(model: string): Promise<void> {
    try {
      this.defaults = await this.backend.modelDefaults(model);
    } catch {
      this.defaults = null;
    }
  }

  /** Measures the conversation plus a draft against the context, after delayMs (typing). */
  scheduleUsage(draft: string, delayMs = 300): void {
    if (this.usageTimer) clearTimeout(this.usageTimer);
    this.usageTimer = setTimeout(() => void this.measure(draft), delayMs);
  }

  async measure(draft: string): Promise<void> {
    const th = this.thread;
    if (!th || !th.conversation.model) {
      this.usage = null;
      return;
    }
    try {
      this.usage = await this.backend.contextUsage(th.conversation.id, this.leaf, draft);
    } catch {
      this.usage = null;
    }
  }

  onChat(ev: ChatEvent): void {
    const here = this.thread?.conversation.id === ev.conversationId;
    switch (ev.type) {
      case 'start':
        if (this.finals.has(ev.messageId)) break;
        this.live[ev.messageId] ??= '';
        if (here && this.thread) {
          this.thread.streaming = ev.messageId;
          if (!this.thread.messages.some((m) => m.id === ev.messageId)) void this.refresh();
        }
        break;
      case 'loading':
        if (!this.finals.has(ev.messageId)) this.loadingReplies[ev.messageId] = true;
        break;
      case 'token':
        if (this.finals.has(ev.messageId)) break; // a late piece of a finished reply
        delete this.loadingReplies[ev.messageId];
        this.addPiece(ev.messageId, ev.seq, ev.text ?? '');
        break;
      case 'done': {
        delete this.loadingReplies[ev.messageId];
        if (ev.message) this.finals.set(ev.messageId, ev.message);
        const m = this.thread?.messages.find((x) => x.id === ev.messageId);
        if (m && ev.message) {
          Object.assign(m, { ...ev.message, siblings: m.siblings, siblingIndex: m.siblingIndex });
        }
        delete this.live[ev.messageId];
        this.nextSeq.delete(ev.messageId);
        this.early.delete(ev.messageId);
        if (here && this.thread && this.thread.streaming === ev.messageId) {
          this.thread.streaming = 0;
          this.scheduleUsage('', 0);
        }
        void this.load();
        break;
      }
    }
  }

  /** Appends a reply's pieces in their order, holding back any that came early. */
  private addPiece(id: number, seq: number | undefined, text: string): void {
    if (seq === undefined) {
      this.live[id] = (this.live[id] ?? '') + text;
      return;
    }
    const next = this.nextSeq.get(id) ?? 1;
    if (seq < next) return; // already have it
    if (seq > next) {
      if (!this.early.has(id)) this.early.set(id, new Map());
      this.early.get(id)!.set(seq, text);
      return;
    }
    let add = text;
    let n = next + 1;
    const waiting = this.early.get(id);
    while (waiting?.has(n)) {
      add += waiting.get(n);
      waiting.delete(n);
      n++;
    }
    this.nextSeq.set(id, n);
    this.live[id] = (this.live[id] ?? '') + add;
  }

  onModelLoad(ev: ModelLoadEvent): void {
    if (ev.seq !== undefined) {
      if (ev.seq < this.loadSeq) return; // an older event that arrived late
      this.loadSeq = ev.seq;
    }
    this.modelLoad = { ...ev };
  }

  openSearch(): void {
    this.searchOpen = true;
  }

  closeSearch(): void {
    this.searchOpen = false;
    this.searchQuery = '';
    this.searchHits = [];
  }

  async search(query: string): Promise<void> {
    this.searchQuery = query;
    const seq = ++this.searchSeq;
    try {
      const hits = query.trim() ? await this.backend.searchHistory(query) : [];
      if (seq === this.searchSeq) this.searchHits = hits;
    } catch (err) {
      if (seq === this.searchSeq) this.error = errorMessage(err);
    }
  }

  /** Opens a search result: its conversation, on the branch of the matching message. */
  async openHit(hit: Hit): Promise<void> {
    this.closeSearch();
    try {
      if (hit.messageId) this.setThread(await this.backend.selectBranch(hit.messageId));
      else await this.open(hit.conversationId);
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}
