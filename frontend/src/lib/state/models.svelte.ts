// Installed models, imports in progress (by file drop or the Import
// button), aliases and library folders.

import { errorMessage, isNoDataError, type Backend, type CustomModelRequest, type Folder, type ImportStarted, type ModelCard, type Progress } from '../api';

/** An import as the Models view shows it. */
export interface ImportItem {
  id: string;
  name: string;
  state: string;
  done: number;
  total: number;
  error?: string;
}

export class ModelsState {
  models = $state<ModelCard[]>([]);
  folders = $state<Folder[]>([]);
  imports = $state<ImportItem[]>([]);
  error = $state<string | null>(null);
  loaded = $state(false);

  private seq = 0; // of the latest load: an older answer may come after a newer one

  constructor(private backend: Backend) {}

  /** Follows import progress and library changes; returns the unsubscribe function. */
  subscribe(): () => void {
    const offs = [
      this.backend.onProgress((p) => this.onProgress(p)),
      this.backend.onLibrary(() => void this.load()),
      this.backend.onImportsStarted((s) => this.track(s)),
    ];
    return () => offs.forEach((off) => off());
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const [models, folders] = await Promise.all([this.backend.listModels(), this.backend.folders()]);
      if (seq !== this.seq) return;
      this.models = models;
      this.folders = folders;
      this.error = null;
    } catch (err) {
      if (seq !== this.seq) return;
      if (!isNoDataError(err)) this.error = errorMessage(err);
    }
    this.loaded = true;
  }

  /** Imports files (a drop or paths from elsewhere). */
  async importPaths(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    try {
      this.track(await this.backend.importModels(paths));
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async chooseAndImport(): Promise<void> {
    try {
      this.track(await this.backend.chooseAndImport());
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Adds imports to the list unless already there (events may come first). */
  track(started: ImportStarted[]): void {
    for (const s of started) {
      if (!this.imports.some((i) => i.id === s.id)) {
        this.imports.push({ id: s.id, name: s.name, state: 'queued', done: 0, total: 0 });
      }
    }
  }

  onProgress(p: Progress): void {
    if (p.kind !== 'import') return;
    const item = this.imports.find((i) => i.id === p.id);
    if (!item) {
      this.imports.push({ id: p.id, name: p.name, state: p.state, done: p.done, total: p.total, error: p.error });
      if (p.state === 'done') void this.load();
      return;
    }
    // Events may arrive out of order: a finished import stays finished,
    // and progress never goes backwards.
    if (item.state === 'done' || item.state === 'failed') return;
    if (p.state === item.state && p.done < item.done) return;
    item.state = p.state;
    if (p.total) item.total = p.total;
    if (p.done) item.done = p.done;
    if (p.name) item.name = p.name;
    item.error = p.error;
    if (p.state === 'done') void this.load();
  }

  dismissImport(id: string): void {
    this.imports = this.imports.filter((i) => i.id !== id);
  }

  async remove(name: string): Promise<void> {
    try {
      await this.backend.deleteModel(name);
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Makes a custom model; false (with error set) when the backend refuses. */
  async customize(req: CustomModelRequest): Promise<boolean> {
    try {
      await this.backend.createCustomModel(req);
      await this.load();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    }
  }

  /** A LoRA adapter file from the system's file dialog; '' when cancelled. */
  async chooseAdapter(): Promise<string> {
    try {
      return await this.backend.chooseAdapterFile();
    } catch (err) {
      this.error = errorMessage(err);
      return '';
    }
  }

  async addAlias(model: string, alias: string): Promise<boolean> {
    try {
      await this.backend.addAlias(model, alias);
      await this.load();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    }
  }

  async chooseFolder(): Promise<void> {
    try {
      await this.backend.chooseFolder();
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async removeFolder(path: string): Promise<void> {
    try {
      await this.backend.removeFolder(path);
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async rescan(): Promise<void> {
    try {
      await this.backend.rescanFolders();
      await this.load();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}

const units = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB" (decimal units, as file managers show sizes). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** 1_234_567 -> "1.2M" parameters. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** Seconds (or a Go duration in nanoseconds with ns=true) as "1m 05s". */
export function formatDuration(value: number, ns = false): string {
  let s = Math.round(ns ? value / 1e9 : value);
  if (!Number.isFinite(s) || s <= 0) return '';
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
