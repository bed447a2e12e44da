// Plain shapes of the values app.go exchanges with the frontend. They mirror
// the Go structs (see the generated wailsjs/go/models.ts) without the
// classes, so state and tests can build them as object literals.

export interface BuildInfo {
  version: string;
  commit: string;
  date: string;
  modified: boolean;
  goVersion: string;
  platform: string;
}

export interface Status {
  dataDir: string;
  schemaVersion: number;
  /** Why the database could not be opened; empty when it is fine. */
  databaseError: string;
}

export interface APISettings {
  enabled: boolean;
  port: number;
  allowedOrigins: string[];
  apiKey: string;
}

export type Theme = 'system' | 'light' | 'dark';

export interface Settings {
  api: APISettings;
  threads: number;
  /** Replies a model generates at once, decoded together in one batch; 0 = chosen from free memory. */
  parallel: number;
  backend: string;
  /** The backend's device as `ir devices` names it; absent or '' = its first. */
  device?: string;
  /** Layers on the GPU: 'auto' (or absent), 'all' or a number as text ('0' = none). */
  gpuLayers?: string;
  contextLength: number;
  /** KV cache type (one of kvTypes in state/settings); absent or '' = f32. */
  kvType?: string;
  theme: string;
}

// ---- chat history (backend/history, backend/service) ----

export interface Params {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repeatPenalty?: number;
  maxTokens?: number;
  contextLength?: number;
  /** 0 or absent: a random seed for every reply. */
  seed?: number;
}

export interface Conversation {
  id: number;
  title: string;
  model: string;
  system: string;
  params: Params;
  currentLeaf: number;
  messages: number;
  createdAt: string;
  updatedAt: string;
}

export interface Stats {
  promptTokens: number;
  generatedTokens: number;
  cachedTokens?: number;
  timeToFirstMs: number;
  tokensPerSecond: number;
  prefillMs?: number;
  decodeMs?: number;
  loadMs?: number;
  totalMs?: number;
  contextLength?: number;
  doneReason?: string;
}

export type MessageState = 'streaming' | 'done' | 'stopped' | 'error' | 'interrupted';

/** A picture attached to a question; data is base64. */
export interface ChatImage {
  mime: string;
  data: string;
}

/** A picture dropped on the window, read by the Go side for the message box. */
export interface DroppedImage {
  name: string;
  image: ChatImage;
  /** Why it cannot be attached; absent when it can. */
  error?: string;
}

export interface Message {
  id: number;
  conversationId: number;
  parentId: number;
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
  model?: string;
  state: MessageState | string;
  error?: string;
  stats?: Stats;
  images?: ChatImage[];
  createdAt: string;
  updatedAt: string;
}

export interface ThreadMessage extends Message {
  siblings: number[];
  siblingIndex: number;
}

export interface Thread {
  conversation: Conversation;
  messages: ThreadMessage[];
  /** The reply streaming in this conversation, 0 when none. */
  streaming: number;
}

export interface SendResult {
  question: Message;
  reply: Message;
}

export interface ContextUsage {
  tokens: number;
  limit: number;
  fits: boolean;
}

export interface Hit {
  conversationId: number;
  title: string;
  messageId: number;
  role?: string;
  /** Text around the match; \u0002 and \u0003 surround matched words. */
  snippet: string;
  updatedAt: string;
}

export interface ChatEvent {
  type: 'start' | 'loading' | 'token' | 'done';
  conversationId: number;
  messageId: number;
  /** Numbers a reply's pieces 1, 2, 3, ...; events may arrive out of order. */
  seq?: number;
  text?: string;
  message?: Message;
}

export interface ModelLoadEvent {
  /** Grows with every load event; an older one arriving late is dropped. */
  seq?: number;
  model: string;
  state: 'loading' | 'ready' | 'failed';
  loadMs?: number;
  error?: string;
}

export interface ModelDefaults {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repeatPenalty: number;
  contextLength: number;
  modelContext: number;
}

// ---- models, store, downloads (backend/library, backend/modelstore) ----

export interface QuantUse {
  type: string;
  bytes?: number;
  tensors?: number;
  [k: string]: unknown;
}

export interface Meta {
  architecture: string;
  modelName?: string;
  paramCount: number;
  quant: QuantUse[] | null;
  fileType?: string;
  contextLength: number;
  vocabSize: number;
}

export interface Fit {
  context: number;
  weights: number;
  kvCache: number;
  buffers: number;
  total: number;
  available: number;
  verdict: string;
  exact: boolean;
}

/** Whether this build can run a model: its architecture is registered with the engine. */
export interface Support {
  supported: boolean;
  /** Why not, naming the architecture; set when supported is false. */
  reason?: string;
}

/** A custom model to make from an installed one (Models view, Customize). */
export interface CustomModelRequest {
  name: string;
  from: string;
  system: string;
  /** Ollama's parameter names: temperature, top_k, top_p, num_ctx, ... */
  parameters: Record<string, number>;
  adapter: string;
  adapterScale: number;
}

export interface ModelCard {
  id: string;
  name: string;
  aliases: string[] | null;
  digest: string;
  size: number;
  location: string;
  path: string;
  source?: string;
  meta: Meta;
  addedAt: string;
  lastUsedAt: string;
  missing: boolean;
  /** Absent from older backends: then the model is taken to run. */
  support?: Support;
  /** The vision projector file; set when the model takes images. */
  projector?: string;
  fit: Fit;
  loaded: boolean;
  /** Where a loaded model runs: the device ('cpu', 'vulkan0', 'vulkan0+cpu') and gpuLayers of its layers there. */
  device?: string;
  gpuLayers?: number;
  layers?: number;
}

export interface Folder {
  id: number;
  path: string;
  addedAt: string;
  models: number;
}

export interface ScanReport {
  added: string[] | null;
  missing: string[] | null;
  restored: string[] | null;
  skipped: { path: string; reason: string }[] | null;
}

export interface Progress {
  id: string;
  kind: 'download' | 'import' | 'hash' | string;
  name: string;
  state: 'queued' | 'running' | 'verifying' | 'paused' | 'done' | 'failed' | 'cancelled' | string;
  done: number;
  total: number;
  rate: number;
  /** Nanoseconds (Go time.Duration); 0 when unknown. */
  eta: number;
  error?: string;
}

export interface ImportStarted {
  id: string;
  path: string;
  name: string;
}

export interface CatalogVariant {
  quant: string;
  file: string;
  size: number;
  sha256?: string;
}

export interface CatalogModel {
  id: string;
  name: string;
  family: string;
  params: string;
  repo: string;
  license: string;
  description: string;
  contextLength: number;
  default: string;
  variants: CatalogVariant[];
}

export interface StoreVariant extends CatalogVariant {
  name: string;
  installed: boolean;
  fit: Fit;
}

export interface StoreEntry {
  model: CatalogModel;
  variants: StoreVariant[];
}

/** The catalog model offered when none is installed (service.Recommendation). */
export interface Recommendation {
  /** Unset when no catalog model fits this machine. */
  model?: CatalogModel;
  variant?: StoreVariant;
  /** Free memory in bytes; -1 when unknown. */
  available: number;
  /** Why the store cannot be reached; empty when it can. */
  offline: string;
}

export interface Download {
  id: string;
  name: string;
  url: string;
  repo: string;
  file: string;
  total: number;
  done: number;
  state: string;
  error?: string;
  modelId?: string;
  verified: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PullResult {
  download: Download;
  model?: ModelCard | null;
}

export interface APIStatus {
  enabled: boolean;
  running: boolean;
  url: string;
  error: string;
}

/** A compute device of this machine, or a backend without any (name '' and error saying why). */
export interface DeviceInfo {
  backend: string;
  name: string;
  description: string;
  gpu: boolean;
  memoryTotal: number;
  memoryFree: number;
  error?: string;
}
