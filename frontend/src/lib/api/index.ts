// The only module that talks to the Go side: the generated Wails bindings
// and runtime events. Everything else imports from here, so the rest of the
// frontend can be tested without a running app.
import * as App from '../../../wailsjs/go/main/App';
import { config, history, main } from '../../../wailsjs/go/models';
import { ClipboardSetText, EventsOn } from '../../../wailsjs/runtime/runtime';
import type {
  ChatImage,
  DroppedImage,
  APIStatus,
  BuildInfo,
  ChatEvent,
  Conversation,
  ContextUsage,
  DeviceInfo,
  CustomModelRequest,
  Download,
  Folder,
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
} from './types';

export type * from './types';

/** What the UI needs from the backend. Every call may reject with a message (string). */
export interface Backend {
  version(): Promise<BuildInfo>;
  status(): Promise<Status>;
  getSettings(): Promise<Settings>;
  saveSettings(s: Settings): Promise<Settings>;
  apiStatus(): Promise<APIStatus>;
  computeDevices(): Promise<DeviceInfo[]>;
  openURL(url: string): Promise<boolean>;
  copyText(text: string): Promise<boolean>;

  // chats
  listConversations(): Promise<Conversation[]>;
  newConversation(model: string): Promise<Conversation>;
  getThread(id: number): Promise<Thread>;
  selectBranch(messageId: number): Promise<Thread>;
  renameConversation(id: number, title: string): Promise<Conversation>;
  deleteConversation(id: number): Promise<boolean>;
  configureConversation(id: number, model: string, system: string, params: Params): Promise<Conversation>;
  sendMessage(conversationId: number, parentId: number, text: string, images?: ChatImage[]): Promise<SendResult>;
  editMessage(messageId: number, text: string): Promise<SendResult>;
  regenerate(messageId: number): Promise<Message>;
  stopReply(conversationId: number): Promise<boolean>;
  contextUsage(conversationId: number, leafId: number, draft: string): Promise<ContextUsage>;
  loadModel(name: string): Promise<boolean>;
  modelDefaults(name: string): Promise<ModelDefaults>;
  searchHistory(query: string): Promise<Hit[]>;
  exportConversation(id: number, format: 'markdown' | 'json'): Promise<string>;

  // models
  listModels(): Promise<ModelCard[]>;
  importModels(paths: string[]): Promise<ImportStarted[]>;
  chooseAndImport(): Promise<ImportStarted[]>;
  deleteModel(name: string): Promise<unknown>;
  addAlias(model: string, alias: string): Promise<unknown>;
  createCustomModel(req: CustomModelRequest): Promise<unknown>;
  chooseAdapterFile(): Promise<string>;
  folders(): Promise<Folder[]>;
  chooseFolder(): Promise<ScanReport>;
  removeFolder(path: string): Promise<boolean>;
  rescanFolders(): Promise<ScanReport>;

  // store
  storeList(search: string): Promise<StoreEntry[]>;
  /** The catalog model that suits this machine, and whether the store answers. */
  recommendedModel(): Promise<Recommendation>;
  pull(ref: string): Promise<PullResult>;
  downloads(): Promise<Download[]>;
  pauseDownload(id: string): Promise<boolean>;
  resumeDownload(id: string): Promise<Download>;
  cancelDownload(id: string): Promise<boolean>;

  /** Subscriptions; each returns an unsubscribe function. */
  onFilesDropped(fn: (paths: string[]) => void): () => void;
  /** Pictures dropped on the window: for the message box, not the library. */
  onImagesDropped(fn: (images: DroppedImage[]) => void): () => void;
  onImportsStarted(fn: (started: ImportStarted[]) => void): () => void;
  onChat(fn: (ev: ChatEvent) => void): () => void;
  onModelLoad(fn: (ev: ModelLoadEvent) => void): () => void;
  onProgress(fn: (p: Progress) => void): () => void;
  onLibrary(fn: () => void): () => void;
  onAPIStatus(fn: (s: APIStatus) => void): () => void;
}

/** Event names shared with app.go and backend/service, backend/events. */
export const events = {
  filesDropped: 'files:dropped',
  imagesDropped: 'images:dropped',
  importsStarted: 'imports:started',
  chat: 'chat',
  modelLoad: 'model-load',
  progress: 'progress',
  library: 'library',
  apiStatus: 'api:status',
} as const;

// The bindings return generated classes; the UI uses the plain shapes in
// types.ts, which they match field for field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const plain = <T>(p: Promise<any>): Promise<T> => p as Promise<T>;
// Go encodes an empty (nil) slice as null; the UI always gets an array.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const list = <T>(p: Promise<any>): Promise<T[]> => p.then((x) => (x ?? []) as T[]);

/** The real backend, through the Wails bindings. */
export const wails: Backend = {
  version: () => App.Version(),
  status: () => App.Status(),
  getSettings: () => App.GetSettings(),
  saveSettings: (s) => App.SaveSettings(config.Settings.createFrom(s)),
  apiStatus: () => App.APIStatus(),
  computeDevices: () => list(App.ComputeDevices()),
  openURL: (url) => App.OpenURL(url),
  copyText: (text) => ClipboardSetText(text),

  listConversations: () => list(App.ListConversations()),
  newConversation: (model) => plain(App.NewConversation(model)),
  getThread: (id) => plain(App.GetThread(id)),
  selectBranch: (id) => plain(App.SelectBranch(id)),
  renameConversation: (id, title) => plain(App.RenameConversation(id, title)),
  deleteConversation: (id) => App.DeleteConversation(id),
  configureConversation: (id, model, system, params) =>
    plain(App.ConfigureConversation(id, model, system, history.Params.createFrom(params))),
  sendMessage: (c, p, text, images) =>
    images?.length
      ? plain(App.SendMessageWithImages(c, p, text, images.map((i) => history.Image.createFrom(i))))
      : plain(App.SendMessage(c, p, text)),
  editMessage: (id, text) => plain(App.EditMessage(id, text)),
  regenerate: (id) => plain(App.Regenerate(id)),
  stopReply: (id) => App.StopReply(id),
  contextUsage: (c, leaf, draft) => plain(App.ContextUsage(c, leaf, draft)),
  loadModel: (name) => App.LoadModel(name),
  modelDefaults: (name) => plain(App.GetModelDefaults(name)),
  searchHistory: (q) => list(App.SearchHistory(q)),
  exportConversation: (id, format) => App.ExportConversation(id, format),

  listModels: () => list(App.ListModels()),
  importModels: (paths) => list(App.ImportModels(paths)),
  chooseAndImport: () => list(App.ChooseAndImport()),
  deleteModel: (name) => App.DeleteModel(name),
  addAlias: (model, alias) => App.AddAlias(model, alias),
  createCustomModel: (req) => App.CreateCustomModel(main.CustomModelRequest.createFrom(req)),
  chooseAdapterFile: () => App.ChooseAdapterFile(),
  folders: () => list(App.Folders()),
  chooseFolder: () => plain(App.ChooseFolder()),
  removeFolder: (path) => App.RemoveFolder(path),
  rescanFolders: () => plain(App.RescanFolders()),

  storeList: (search) => list(App.StoreList(search)),
  recommendedModel: () => plain(App.RecommendedModel()),
  pull: (ref) => plain(App.Pull(ref)),
  downloads: () => list(App.Downloads()),
  pauseDownload: (id) => App.PauseDownload(id),
  resumeDownload: (id) => plain(App.ResumeDownload(id)),
  cancelDownload: (id) => App.CancelDownload(id),

  onFilesDropped: (fn) => EventsOn(events.filesDropped, (paths: string[]) => fn(paths ?? [])),
  onImagesDropped: (fn) => EventsOn(events.imagesDropped, (images: DroppedImage[]) => fn(images ?? [])),
  onImportsStarted: (fn) => EventsOn(events.importsStarted, (s: ImportStarted[]) => fn(s ?? [])),
  onChat: (fn) => EventsOn(events.chat, (ev: ChatEvent) => fn(ev)),
  onModelLoad: (fn) => EventsOn(events.modelLoad, (ev: ModelLoadEvent) => fn(ev)),
  onProgress: (fn) => EventsOn(events.progress, (p: Progress) => fn(p)),
  onLibrary: (fn) => EventsOn(events.library, () => fn()),
  onAPIStatus: (fn) => EventsOn(events.apiStatus, (s: APIStatus) => fn(s)),
};

/** Turns a rejected binding call into a message for the UI. Wails rejects with strings. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return String(err);
}

/** True for the error of calls made while the data directory could not be
 *  opened; the window shows that once, in a banner, so views stay quiet. */
export function isNoDataError(err: unknown): boolean {
  return errorMessage(err).startsWith('the data directory is not available');
}
