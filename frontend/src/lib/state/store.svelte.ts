// The model store: the curated catalog with search, and downloads with
// their progress (from 'progress' events of kind "download").

import {
  errorMessage,
  isNoDataError,
  type Backend,
  type Download,
  type Progress,
  type Recommendation,
  type StoreEntry,
} from '../api';

/** A download as the Store view shows it. */
export interface DownloadItem {
  id: string;
  name: string;
  state: string;
  done: number;
  total: number;
  /** Bytes per second; 0 when not running. */
  rate: number;
  /** Seconds left; 0 when unknown. */
  eta: number;
  error?: string;
}

const active = new Set(['queued', 'running', 'verifying', 'paused', 'failed']);

export class StoreState {
  entries = $state<StoreEntry[]>([]);
  search = $state('');
  downloads = $state<DownloadItem[]>([]);
  error = $state<string | null>(null);
  loading = $state(false);
  /** The quant picked per catalog model id. */
  chosen = $state<Record<string, string>>({});
  /** The model offered on the empty Chats screen; null until asked. */
  recommendation = $state<Recommendation | null>(null);
  checking = $state(false);

  private seq = 0;

  constructor(private backend: Backend) {}

  subscribe(): () => void {
    return this.backend.onProgress((p) => this.onProgress(p));
  }

  async load(): Promise<void> {
    await Promise.all([this.find(this.search), this.loadDownloads()]);
  }

  async find(search: string): Promise<void> {
    this.search = search;
    const seq = ++this.seq;
    this.loading = true;
    try {
      const entries = await this.backend.storeList(search);
      if (seq !== this.seq) return;
      this.entries = entries;
      for (const e of entries) {
        if (!this.chosen[e.model.id]) this.chosen[e.model.id] = e.model.default || e.variants[0]?.quant || '';
      }
      this.error = null;
    } catch (err) {
      if (seq === this.seq && !isNoDataError(err)) this.error = errorMessage(err);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  async loadDownloads(): Promise<void> {
    try {
      const list = await this.backend.downloads();
      this.downloads = list.filter((d) => active.has(d.state)).map(fromDownload);
    } catch (err) {
      if (!isNoDataError(err)) this.error = errorMessage(err);
    }
  }

  /** Asks which catalog model suits this machine and whether the store answers. */
  async recommend(): Promise<void> {
    this.checking = true;
    try {
      this.recommendation = await this.backend.recommendedModel();
      this.error = null;
    } catch (err) {
      if (!isNoDataError(err)) this.error = errorMessage(err);
    } finally {
      this.checking = false;
    }
  }

  /** The download of a library name, if one is under way or just ended. */
  downloadOf(name: string): DownloadItem | undefined {
    return this.downloads.find((d) => d.name === name);
  }

  /** Starts downloading a catalog model's chosen quant (or any pull reference). */
  async pull(ref: string): Promise<void> {
    try {
      const res = await this.backend.pull(ref);
      if (res.model) {
        this.error = null;
        await this.find(this.search);
        return;
      }
      this.upsert(fromDownload(res.download));
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async pause(id: string): Promise<void> {
    await this.act(() => this.backend.pauseDownload(id));
  }

  async resume(id: string): Promise<void> {
    await this.act(async () => this.upsert(fromDownload(await this.backend.resumeDownload(id))));
  }

  async cancel(id: string): Promise<void> {
    await this.act(async () => {
      await this.backend.cancelDownload(id);
      this.downloads = this.downloads.filter((d) => d.id !== id);
    });
  }

  private async act(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  private upsert(d: DownloadItem): void {
    const i = this.downloads.findIndex((x) => x.id === d.id);
    if (i >= 0) Object.assign(this.downloads[i], d);
    else this.downloads.push(d);
  }

  onProgress(p: Progress): void {
    if (p.kind !== 'download') return;
    if (p.state === 'cancelled') {
      this.downloads = this.downloads.filter((d) => d.id !== p.id);
      return;
    }
    // Events may arrive out of order: a finished download stays finished,
    // and progress never goes backwards within a state.
    const known = this.downloads.find((d) => d.id === p.id);
    if (known && (known.state === 'done' || (p.state === known.state && p.done < known.done))) return;
    this.upsert({
      id: p.id,
      name: p.name,
      state: p.state,
      done: p.done,
      total: p.total,
      rate: p.state === 'running' ? p.rate : 0,
      eta: p.eta ? p.eta / 1e9 : 0,
      error: p.error,
    });
    if (p.state === 'done') void this.find(this.search);
  }

  dismiss(id: string): void {
    this.downloads = this.downloads.filter((d) => d.id !== id);
  }
}

function fromDownload(d: Download): DownloadItem {
  return { id: d.id, name: d.name, state: d.state, done: d.done, total: d.total, rate: 0, eta: 0, error: d.error };
}
