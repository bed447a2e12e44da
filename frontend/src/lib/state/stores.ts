// The app's single instances of each state module, wired to the real backend.
import { wails } from '../api';
import { AboutState } from './about.svelte';
import { Notices } from './notices.svelte';
import { SettingsState } from './settings.svelte';

export { navigation } from './navigation.svelte';

export const settings = new SettingsState(wails);
export const about = new AboutState(wails);
export const notices = new Notices();
