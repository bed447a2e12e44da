// The app's single instances of each state module, wired to the real backend.
import { wails } from '../api';
import { AboutState } from './about.svelte';
import { ChatsState } from './chats.svelte';
import { ModelsState } from './models.svelte';
import { Notices } from './notices.svelte';
import { SettingsState } from './settings.svelte';
import { StoreState } from './store.svelte';

export { navigation } from './navigation.svelte';

export const settings = new SettingsState(wails);
export const about = new AboutState(wails);
export const notices = new Notices();
export const models = new ModelsState(wails);
export const chats = new ChatsState(wails, () => models.models[0]?.name ?? '');
export const store = new StoreState(wails);
