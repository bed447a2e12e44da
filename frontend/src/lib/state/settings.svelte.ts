// The user's settings as the UI sees them: loaded from and saved through
// the backend, with the error of the last failed call.

import { errorMessage, type APIStatus, type Backend, type DeviceInfo, type Settings } from '../api';
import { gpuLayersError } from './devices';

/** The most replies per model at once that backend/config accepts. */
export const maxParallel = 64;

/** The KV cache types backend/config accepts ('' = f32), smallest memory last. */
export const kvTypes = ['f32', 'f16', 'q8_0', 'q4_0'];

/** Client-side checks that mirror backend/config.Settings.Validate, for early feedback. */
export function validateSettings(s: Settings): string | null {
  if (!Number.isInteger(s.api.port) || s.api.port < 1 || s.api.port > 65535) {
    return `API port must be between 1 and 65535 (got ${s.api.port})`;
  }
  if (!Number.isInteger(s.threads) || s.threads < 0) {
    return 'Threads must be 0 (automatic) or a positive whole number';
  }
  // Settings saved before the field existed have none: automatic.
  const parallel = s.parallel ?? 0;
  if (!Number.isInteger(parallel) || parallel < 0 || parallel > maxParallel) {
    return `Replies at once must be 0 (automatic) or a whole number up to ${maxParallel}`;
  }
  if (!Number.isInteger(s.contextLength) || s.contextLength < 0) {
    return 'Context length must be a positive whole number';
  }
  const layers = gpuLayersError(s.gpuLayers);
  if (layers) return layers;
  if (s.kvType && !kvTypes.includes(s.kvType)) {
    return `KV cache type must be one of ${kvTypes.join(', ')}`;
  }
  for (const o of s.api.allowedOrigins ?? []) {
    if (o !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(o)) {
      return `Allowed origin "${o}" must look like scheme://host[:port]`;
    }
  }
  return null;
}

export class SettingsState {
  value = $state<Settings | null>(null);
  error = $state<string | null>(null);
  saving = $state(false);
  /** Set after a successful save, cleared by the next edit or save. */
  saved = $state(false);
  /** Whether the local API runs and where. */
  api = $state<APIStatus | null>(null);
  /** The compute devices of this machine, as `ir devices` lists them. */
  devices = $state<DeviceInfo[]>([]);

  constructor(private backend: Backend) {}

  /** Follows the API's status; returns the unsubscribe function. */
  subscribe(): () => void {
    return this.backend.onAPIStatus((s) => (this.api = s));
  }

  /** Loads what the settings page shows beside the settings themselves. */
  async loadStatus(): Promise<void> {
    try {
      const [api, devices] = await Promise.all([this.backend.apiStatus(), this.backend.computeDevices()]);
      this.api = api;
      this.devices = devices;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  get theme(): string {
    return this.value?.theme ?? 'system';
  }

  async load(): Promise<void> {
    try {
      this.value = await this.backend.getSettings();
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** Validates and saves next; on success the stored settings become the value. */
  async save(next: Settings): Promise<boolean> {
    this.saved = false;
    const invalid = validateSettings(next);
    if (invalid) {
      this.error = invalid;
      return false;
    }
    this.saving = true;
    try {
      this.value = await this.backend.saveSettings(next);
      this.error = null;
      this.saved = true;
      this.api = await this.backend.apiStatus();
      return true;
    } catch (err) {
      this.error = errorMessage(err);
      return false;
    } finally {
      this.saving = false;
    }
  }
}
