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
  backend: string;
  contextLength: number;
  theme: string;
}
