// An in-memory Backend for Vitest: it keeps conversations, models,
// settings and downloads the way app.go does (rejecting with strings), and
// lets a test play the events the Go side would send (tokens, progress).
import type {
  APIStatus,
  Backend,
  BuildInfo,
  ChatEvent,
  ChatImage,
  ContextUsage,
  Conversation,
  DeviceInfo,
  DroppedImage,
  CustomModelRequest,
  Download,
  Hit,
  ImportStarted,
  Message,
  ModelCard,
  ModelDefaults,
  ModelLoadEvent,
  Params,
  Progress,
  PullResult,
  Recommendation,
  ScanReport,
  SendResult,
  Settings,
  Status,
  StoreEntry,
  Thread,
  ThreadMessage,
} from '../api';

export function defaultSettings(): Settings {
  return {
    api: { enabled: false, port: 11435, allowedOrigins: [], apiKey: '' },
    threads: 0,
    parallel: 0,
    backend: 'auto',
    contextLength: 4096,
    theme: 'system',
  };
}

export function modelCard(name: string): ModelCard {
  return {
    id: 'id-' + name,
    name,
    aliases: [],
    digest: '',
    size: 1_500_000,
    location: 'blob',
    path: '/models/' + name,
    meta: { architecture: 'llama', paramCount: 260_000, quant: [{ type: 'Q8_0' }], fileType: 'Q8_0', contextLength: 512, vocabSize: 512 },
    addedAt: '',
    lastUsedAt: '',
    missing: false,
    fit: { context: 512, weights: 1, kvCache: 1, buffers: 1, total: 2_000_000, available: 8e9, verdict: 'fits', exact: true },
    loaded: false,
  };
}

type Listener = (payload: never) => void;

export class MemoryBackend implements Backend {
  stored = defaultSettings();
  saves = 0;
  failWith: string | null = null;
  api: APIStatus = { enabled: false, running: false, url: '', error: '' };
  conversations: Conversation[] = [];
  messages: Message[] = [];
  models: ModelCard[] = [modelCard('tiny')];
  catalog: StoreEntry[] = [];
  /** What recommendedModel answers: by default the first catalog entry, online. */
  recommendation: Recommendation | null = null;
  downloadList: Download[] = [];
  pulls: string[] = [];
  stopped: number[] = [];
  copied: string[] = [];
  /** The custom models asked for (createCustomModel). */
  created: CustomModelRequest[] = [];
  opened: string[] = [];
  usageResult: ContextUsage = { tokens: 10, limit: 512, fits: true };
  streaming = new Map<number, number>(); // conversation -> reply
  private nextId = 1;
  private listeners = new Map<string, Set<Listener>>();

  private fail(): void {
    if (this.failWith) throw this.failWith;
  }

  /** Delivers an event to the subscribers of topic, as the Wails runtime does. */
  emit(topic: string, payload: unknown): void {
    for (const fn of this.listeners.get(topic) ?? []) (fn as (p: unknown) => void)(payload);
  }

  private on(topic: string, fn: Listener): () => void {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic)!.add(fn);
    return () => this.listeners.get(topic)?.delete(fn);
  }

  private seqs = new Map<number, number>();

  /** Streams pieces into a reply and, unless keepOpen, finishes it. */
  stream(replyId: number, pieces: string[], keepOpen = false): void {
    const m = this.messages.find((x) => x.id === replyId)!;
    for (const text of pieces) {
      m.content += text;
      const seq = (this.seqs.get(replyId) ?? 0) + 1;
      this.seqs.set(replyId, seq);
      this.emit('chat', { type: 'token', conversationId: m.conversationId, messageId: replyId, seq, text } satisfies ChatEvent);
    }
    if (!keepOpen) this.finish(replyId, 'done');
  }

  finish(replyId: number, state: string): void {
    const m = this.messages.find((x) => x.id === replyId)!;
    m.state = state;
    m.stats = { promptTokens: 12, generatedTokens: 3, timeToFirstMs: 40, tokensPerSecond: 25.5, doneReason: 'stop' };
    this.streaming.delete(m.conversationId);
    this.emit('chat', { type: 'done', conversationId: m.conversationId, messageId: replyId, message: { ...m } } satisfies ChatEvent);
  }

  async version(): Promise<BuildInfo> {
    return { version: '1.0.0', commit: 'abc', date: 'today', modified: false, goVersion: 'go1.26', platform: 'linux/amd64' };
  }
  async status(): Promise<Status> {
    this.fail();
    return { dataDir: '/data', schemaVersion: 4, databaseError: '' };
  }
  async getSettings(): Promise<Settings> {
    this.fail();
    return structuredClone(this.stored);
  }
  async saveSettings(s: Settings): Promise<Settings> {
    this.saves++;
    this.fail();
    this.stored = structuredClone(s);
    this.api = s.api.enabled
      ? { enabled: true, running: true, url: `http://127.0.0.1:${s.api.port}`, error: '' }
      : { enabled: false, running: false, url: '', error: '' };
    return structuredClone(s);
  }
  async apiStatus(): Promise<APIStatus> {
    return { ...this.api };
  }
  devices: DeviceInfo[] = [
    { backend: 'cpu', name: 'cpu', description: 'x86-64 AVX2', gpu: false, memoryTotal: 0, memoryFree: 0 },
    { backend: 'vulkan', name: 'vulkan0', description: 'Radeon 780M', gpu: true, memoryTotal: 8 * 2 ** 30, memoryFree: 6 * 2 ** 30 },
  ];
  async computeDevices(): Promise<DeviceInfo[]> {
    return structuredClone(this.devices);
  }
  async openURL(url: string): Promise<boolean> {
    this.opened.push(url);
    return true;
  }
  async copyText(text: string): Promise<boolean> {
    this.copied.push(text);
    return true;
  }

  // ---- chats ----
  async listConversations(): Promise<Conversation[]> {
    this.fail();
    return this.conversations.map((c) => ({ ...c }));
  }
  async newConversation(model: string): Promise<Conversation> {
    this.fail();
    const c: Conversation = {
      id: this.nextId++, title: '', model, system: '', params: {}, currentLeaf: 0, messages: 0, createdAt: '', updatedAt: '',
    };
    this.conversations.unshift(c);
    return { ...c };
  }
  private conv(id: number): Conversation {
    const c = this.conversations.find((x) => x.id === id);
    if (!c) throw `history: conversation ${id}: not found`;
    return c;
  }
  private path(id: number): Message[] {
    const out: Message[] = [];
    for (let m = this.messages.find((x) => x.id === id); m; m = this.messages.find((x) => x.id === m!.parentId)) out.unshift(m);
    return out;
  }
  async getThread(id: number): Promise<Thread> {
    this.fail();
    const c = this.conv(id);
    const msgs: ThreadMessage[] = this.path(c.currentLeaf).map((m) => {
      const siblings = this.messages.filter((x) => x.conversationId === id && x.parentId === m.parentId).map((x) => x.id);
      return { ...m, siblings, siblingIndex: siblings.indexOf(m.id) };
    });
    return { conversation: { ...c }, messages: msgs, streaming: this.streaming.get(id) ?? 0 };
  }
  async selectBranch(messageId: number): Promise<Thread> {
    const m = this.messages.find((x) => x.id === messageId)!;
    let leaf = m;
    for (;;) {
      const kids = this.messages.filter((x) => x.parentId === leaf.id);
      if (!kids.length) break;
      leaf = kids[kids.length - 1];
    }
    this.conv(m.conversationId).currentLeaf = leaf.id;
    return this.getThread(m.conversationId);
  }
  async renameConversation(id: number, title: string): Promise<Conversation> {
    this.conv(id).title = title;
    return { ...this.conv(id) };
  }
  async deleteConversation(id: number): Promise<boolean> {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    return true;
  }
  async configureConversation(id: number, model: string, system: string, params: Params): Promise<Conversation> {
    Object.assign(this.conv(id), { model, system, params });
    return { ...this.conv(id) };
  }
  private add(conversationId: number, parentId: number, role: string, content: string, state = 'done'): Message {
    const m: Message = { id: this.nextId++, conversationId, parentId, role, content, state, createdAt: '', updatedAt: '' };
    this.messages.push(m);
    this.conv(conversationId).currentLeaf = m.id;
    return m;
  }
  private reply(conversationId: number, parentId: number): Message {
    if (this.streaming.has(conversationId)) throw 'a reply is being written in this conversation; stop it first';
    const r = this.add(conversationId, parentId, 'assistant', '', 'streaming');
    this.streaming.set(conversationId, r.id);
    this.emit('chat', { type: 'start', conversationId, messageId: r.id, message: { ...r } } satisfies ChatEvent);
    return r;
  }
  async sendMessage(conversationId: number, parentId: number, text: string, images?: ChatImage[]): Promise<SendResult> {
    this.fail();
    if (!this.usageResult.fits) throw 'messages: the prompt is too long for the context';
    const q = this.add(conversationId, parentId, 'user', text);
    if (images?.length) q.images = images.map((i) => ({ ...i }));
    const c = this.conv(conversationId);
    if (!c.title) c.title = text.slice(0, 60);
    return { question: { ...q }, reply: { ...this.reply(conversationId, q.id) } };
  }
  async editMessage(messageId: number, text: string): Promise<SendResult> {
    const old = this.messages.find((x) => x.id === messageId)!;
    const q = this.add(old.conversationId, old.parentId, 'user', text);
    return { question: { ...q }, reply: { ...this.reply(old.conversationId, q.id) } };
  }
  async regenerate(messageId: number): Promise<Message> {
    const old = this.messages.find((x) => x.id === messageId)!;
    return { ...this.reply(old.conversationId, old.parentId) };
  }
  async stopReply(conversationId: number): Promise<boolean> {
    this.stopped.push(conversationId);
    const id = this.streaming.get(conversationId);
    if (id) this.finish(id, 'stopped');
    return id !== undefined;
  }
  async contextUsage(): Promise<ContextUsage> {
    return { ...this.usageResult };
  }
  async loadModel(name: string): Promise<boolean> {
    this.emit('model-load', { model: name, state: 'loading' } satisfies ModelLoadEvent);
    return true;
  }
  async modelDefaults(): Promise<ModelDefaults> {
    return { temperature: 0.8, topP: 0.95, topK: 40, minP: 0.05, repeatPenalty: 1, contextLength: 512, modelContext: 512 };
  }
  async searchHistory(query: string): Promise<Hit[]> {
    const q = query.toLowerCase();
    return this.messages
      .filter((m) => m.content.toLowerCase().includes(q))
      .map((m) => ({
        conversationId: m.conversationId, title: this.conv(m.conversationId).title, messageId: m.id, role: m.role,
        snippet: m.content.replace(new RegExp(query, 'i'), (s) => `\u0002${s}\u0003`), updatedAt: '',
      }));
  }
  async exportConversation(id: number, format: 'markdown' | 'json'): Promise<string> {
    return `/exports/${id}.${format === 'json' ? 'json' : 'md'}`;
  }

  // ---- models ----
  async listModels(): Promise<ModelCard[]> {
    this.fail();
    return this.models.map((m) => ({ ...m }));
  }
  async importModels(paths: string[]): Promise<ImportStarted[]> {
    return paths.map((p, i) => ({ id: `imp-${i}`, path: p, name: p.split('/').pop() ?? p }));
  }
  async chooseAndImport(): Promise<ImportStarted[]> {
    return [];
  }
  async deleteModel(name: string): Promise<unknown> {
    this.models = this.models.filter((m) => m.name !== name);
    return {};
  }
  async createCustomModel(req: CustomModelRequest): Promise<unknown> {
    const base = this.models.find((x) => x.name === req.from);
    if (!base) throw `FROM ${req.from}: no installed model of that name`;
    if (this.models.some((x) => x.name === req.name)) throw `name already in use: "${req.name}"`;
    const m = { ...base, id: `custom-${this.models.length}`, name: req.name, aliases: [] };
    this.models.push(m);
    this.created.push(req);
    return m;
  }
  async chooseAdapterFile(): Promise<string> {
    return '/adapters/tone.gguf';
  }
  async addAlias(model: string, alias: string): Promise<unknown> {
    const m = this.models.find((x) => x.name === model)!;
    m.aliases = [...(m.aliases ?? []), alias];
    return m;
  }
  async folders() {
    return [];
  }
  async chooseFolder(): Promise<ScanReport> {
    return { added: [], missing: [], restored: [], skipped: [] };
  }
  async removeFolder(): Promise<boolean> {
    return true;
  }
  async rescanFolders(): Promise<ScanReport> {
    return { added: [], missing: [], restored: [], skipped: [] };
  }

  // ---- store ----
  async storeList(search: string): Promise<StoreEntry[]> {
    this.fail();
    const q = search.toLowerCase();
    return structuredClone(this.catalog.filter((e) => !q || e.model.name.toLowerCase().includes(q)));
  }
  async recommendedModel(): Promise<Recommendation> {
    this.fail();
    if (this.recommendation) return structuredClone(this.recommendation);
    const e = this.catalog[0];
    const variant = e?.variants.find((v) => v.quant === e.model.default);
    return { model: e && structuredClone(e.model), variant: variant && structuredClone(variant), available: 8e9, offline: '' };
  }
  async pull(ref: string): Promise<PullResult> {
    this.fail();
    this.pulls.push(ref);
    const d: Download = {
      id: 'dl-' + this.pulls.length, name: ref, url: 'http://mirror/' + ref, repo: '', file: '', total: 1000, done: 0,
      state: 'queued', verified: true, createdAt: '', updatedAt: '',
    };
    this.downloadList.push(d);
    return { download: { ...d } };
  }
  async downloads(): Promise<Download[]> {
    return this.downloadList.map((d) => ({ ...d }));
  }
  async pauseDownload(id: string): Promise<boolean> {
    this.progress({ id, state: 'paused' });
    return true;
  }
  async resumeDownload(id: string): Promise<Download> {
    const d = this.downloadList.find((x) => x.id === id)!;
    d.state = 'queued';
    return { ...d };
  }
  async cancelDownload(id: string): Promise<boolean> {
    this.downloadList = this.downloadList.filter((d) => d.id !== id);
    return true;
  }

  /** Sends a download progress event for id. */
  progress(p: Partial<Progress> & { id: string }): void {
    const d = this.downloadList.find((x) => x.id === p.id);
    const full: Progress = {
      kind: 'download', name: d?.name ?? p.id, state: 'running', done: d?.done ?? 0, total: d?.total ?? 0, rate: 0, eta: 0, ...p,
    };
    if (d) Object.assign(d, { state: full.state, done: full.done, total: full.total });
    this.emit('progress', full);
  }

  onFilesDropped(fn: (paths: string[]) => void) {
    return this.on('files:dropped', fn as Listener);
  }
  onImagesDropped(fn: (images: DroppedImage[]) => void) {
    return this.on('images:dropped', fn as Listener);
  }
  onImportsStarted(fn: (s: ImportStarted[]) => void) {
    return this.on('imports:started', fn as Listener);
  }
  onChat(fn: (ev: ChatEvent) => void) {
    return this.on('chat', fn as Listener);
  }
  onModelLoad(fn: (ev: ModelLoadEvent) => void) {
    return this.on('model-load', fn as Listener);
  }
  onProgress(fn: (p: Progress) => void) {
    return this.on('progress', fn as Listener);
  }
  onLibrary(fn: () => void) {
    return this.on('library', fn as Listener);
  }
  onAPIStatus(fn: (s: APIStatus) => void) {
    return this.on('api:status', fn as Listener);
  }
}
