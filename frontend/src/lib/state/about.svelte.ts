// Facts about the running app: build information and backend status.

import { errorMessage, type Backend, type BuildInfo, type Status } from '../api';

export class AboutState {
  info = $state<BuildInfo | null>(null);
  status = $state<Status | null>(null);
  error = $state<string | null>(null);

  constructor(private backend: Backend) {}

  async load(): Promise<void> {
    try {
      const [info, status] = await Promise.all([this.backend.version(), this.backend.status()]);
      this.info = info;
      this.status = status;
      this.error = null;
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}
