// The only module that talks to the Go side: the generated Wails bindings
// and runtime events. Everything else imports from here, so the rest of the
// frontend can be tested without a running app.
import * as App from '../../../wailsjs/go/main/App';
import { config } from '../../../wailsjs/go/models';
import { EventsOn } from '../../../wailsjs/runtime/runtime';
import type { BuildInfo, Settings, Status } from './types';

export type { BuildInfo, Settings, Status, APISettings } from './types';

/** What the UI needs from the backend. */
export interface Backend {
  version(): Promise<BuildInfo>;
  status(): Promise<Status>;
  getSettings(): Promise<Settings>;
  saveSettings(s: Settings): Promise<Settings>;
  /** Calls fn with the paths of files dropped on the window; returns an unsubscribe function. */
  onFilesDropped(fn: (paths: string[]) => void): () => void;
}

/** Event names shared with app.go. */
export const events = {
  filesDropped: 'files:dropped',
} as const;

/** The real backend, through the Wails bindings. */
export const wails: Backend = {
  version: () => App.Version(),
  status: () => App.Status(),
  getSettings: () => App.GetSettings(),
  saveSettings: (s) => App.SaveSettings(config.Settings.createFrom(s)),
  onFilesDropped: (fn) => EventsOn(events.filesDropped, (paths: string[]) => fn(paths ?? [])),
};

/** Turns a rejected binding call into a message for the UI. Wails rejects with strings. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return String(err);
}
