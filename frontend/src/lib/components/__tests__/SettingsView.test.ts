// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AboutState } from '../../state/about.svelte';
import { SettingsState } from '../../state/settings.svelte';
import { MemoryBackend } from '../../testing/memory-backend';
import SettingsView from '../settings/SettingsView.svelte';
import { byText, render, settle, typeInto, until, type Mounted } from './helpers';

let backend: MemoryBackend;
let settings: SettingsState;
let view: Mounted;

beforeEach(async () => {
  backend = new MemoryBackend();
  settings = new SettingsState(backend);
  const about = new AboutState(backend);
  await Promise.all([settings.load(), about.load()]);
  view = render(SettingsView, { settings, about });
  await settle();
});

afterEach(() => view.destroy());

const input = (name: string) => view.target.querySelector<HTMLInputElement>(`[name="${name}"]`)!;

function check(el: HTMLInputElement, on: boolean) {
  el.checked = on;
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('the settings view', () => {
  it('switches the API on with port, origins and key, and shows the running address', async () => {
    expect(view.target.querySelector('[data-testid="api-status"]')!.textContent).toContain('Not running');
    check(input('apiEnabled'), true);
    typeInto(input('apiPort'), '12345');
    typeInto(input('apiOrigins'), 'https://a.example, http://localhost:3000');
    typeInto(input('apiKey'), 'secret');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.saved, 'the save');
    expect(backend.stored.api).toEqual({
      enabled: true, port: 12345, allowedOrigins: ['https://a.example', 'http://localhost:3000'], apiKey: 'secret',
    });
    await settle();
    expect(view.target.querySelector('[data-testid="api-url"]')!.textContent).toBe('http://127.0.0.1:12345');
  });

  it('saves threads, the CPU as the device and context length', async () => {
    const deviceSelect = view.target.querySelector<HTMLSelectElement>('select[name="device"]')!;
    deviceSelect.value = 'cpu';
    deviceSelect.dispatchEvent(new Event('change', { bubbles: true }));
    typeInto(input('threads'), '3');
    typeInto(input('contextLength'), '8192');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.saved, 'the save');
    expect(backend.stored).toMatchObject({ backend: 'cpu', threads: 3, contextLength: 8192 });
  });

  it('refuses a bad origin before calling the backend', async () => {
    typeInto(input('apiOrigins'), 'not an origin');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.error !== null, 'the error');
    expect(view.target.querySelector('[role="alert"]')!.textContent).toContain('must look like scheme://host[:port]');
    expect(backend.saves).toBe(0);
  });

  it('shows the data folder', () => {
    expect(view.target.textContent).toContain('Data folder: /data');
  });
});
