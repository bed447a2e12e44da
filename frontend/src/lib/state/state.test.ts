import { describe, expect, it } from 'vitest';
import { MemoryBackend, defaultSettings } from '../testing/memory-backend';
import { AboutState } from './about.svelte';
import { Navigation, sections } from './navigation.svelte';
import { Notices, droppedFilesText } from './notices.svelte';
import { SettingsState, validateSettings } from './settings.svelte';
import { isTheme, themeAttribute } from './theme';

const defaults = defaultSettings;

describe('navigation', () => {
  it('lists the four sections in sidebar order', () => {
    expect(sections.map((s) => s.label)).toEqual(['Chats', 'Models', 'Store', 'Settings']);
  });

  it('starts on chats, moves, and ignores unknown sections', () => {
    const nav = new Navigation();
    expect(nav.current).toBe('chats');
    nav.go('store');
    expect(nav.current).toBe('store');
    nav.go('downloads');
    expect(nav.current).toBe('store');
  });
});

describe('theme', () => {
  it.each([
    ['system', null],
    ['light', 'light'],
    ['dark', 'dark'],
    ['bogus', null],
  ])('%s maps to data-theme %s', (pref, attr) => {
    expect(themeAttribute(pref)).toBe(attr);
  });

  it('knows the valid names', () => {
    expect(isTheme('dark')).toBe(true);
    expect(isTheme('sepia')).toBe(false);
  });
});

describe('settings validation', () => {
  it.each([
    [{ api: { port: 0 } }, /port/],
    [{ api: { port: 70000 } }, /port/],
    [{ api: { port: 80.5 } }, /port/],
    [{ threads: -2 }, /Threads/],
    [{ contextLength: -1 }, /Context/],
    [{ kvType: 'q5_1' }, /KV cache type/],
  ])('rejects %j', (patch, message) => {
    const s = defaults();
    Object.assign(s.api, (patch as { api?: object }).api ?? {});
    const { api: _ignored, ...rest } = patch as Record<string, unknown>;
    Object.assign(s, rest);
    expect(validateSettings(s)).toMatch(message);
  });

  it('accepts the defaults', () => {
    expect(validateSettings(defaults())).toBeNull();
  });
});

describe('SettingsState', () => {
  it('loads, saves and reports the stored value', async () => {
    const backend = new MemoryBackend();
    const state = new SettingsState(backend);
    expect(state.theme).toBe('system');
    await state.load();
    expect(state.value?.api.port).toBe(11435);

    const next = defaults();
    next.theme = 'dark';
    expect(await state.save(next)).toBe(true);
    expect(state.saved).toBe(true);
    expect(state.theme).toBe('dark');
    expect(backend.stored.theme).toBe('dark');
  });

  it('does not call the backend with invalid values', async () => {
    const backend = new MemoryBackend();
    const state = new SettingsState(backend);
    const bad = defaults();
    bad.api.port = 0;
    expect(await state.save(bad)).toBe(false);
    expect(backend.saves).toBe(0);
    expect(state.error).toMatch(/port/);
  });

  it('shows backend errors and keeps the last good value', async () => {
    const backend = new MemoryBackend();
    const state = new SettingsState(backend);
    await state.load();
    backend.failWith = 'save settings: disk full';
    const next = defaults();
    next.theme = 'light';
    expect(await state.save(next)).toBe(false);
    expect(state.error).toBe('save settings: disk full');
    expect(state.theme).toBe('system');
    expect(state.saving).toBe(false);
  });
});

describe('AboutState', () => {
  it('loads build info and status together', async () => {
    const about = new AboutState(new MemoryBackend());
    await about.load();
    expect(about.info?.version).toBe('1.0.0');
    expect(about.status?.dataDir).toBe('/data');
  });

  it('reports a failure', async () => {
    const backend = new MemoryBackend();
    backend.failWith = 'boom';
    const about = new AboutState(backend);
    await about.load();
    expect(about.error).toBe('boom');
  });
});

describe('notices', () => {
  it('pushes and dismisses', () => {
    const n = new Notices();
    const a = n.push('one');
    n.push('two');
    n.dismiss(a);
    expect(n.items.map((i) => i.text)).toEqual(['two']);
  });

  it('describes dropped files', () => {
    expect(droppedFilesText(['/home/u/models/tiny.gguf'])).toContain('Importing “tiny.gguf”');
    expect(droppedFilesText(['C:\\models\\a.gguf'])).toContain('“a.gguf”');
    expect(droppedFilesText(['/a', '/b', '/c'])).toContain('3 files');
  });
});
