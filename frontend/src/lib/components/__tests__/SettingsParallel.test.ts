// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AboutState } from '../../state/about.svelte';
import { SettingsState, validateSettings } from '../../state/settings.svelte';
import { defaultSettings, MemoryBackend } from '../../testing/memory-backend';
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

const parallel = () => view.target.querySelector<HTMLInputElement>('[name="parallel"]')!;

describe('replies at once per model', () => {
  it('starts automatic and saves a number', async () => {
    expect(parallel().value).toBe('0');
    typeInto(parallel(), '4');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.saved, 'the save');
    expect(backend.stored.parallel).toBe(4);
  });

  it('refuses more than the backend allows before calling it', async () => {
    typeInto(parallel(), '65');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.error !== null, 'the error');
    expect(view.target.querySelector('[role="alert"]')!.textContent).toContain('up to 64');
    expect(backend.saves).toBe(0);
  });

  it('takes settings without the field as automatic', () => {
    const old = defaultSettings() as Partial<ReturnType<typeof defaultSettings>>;
    delete old.parallel;
    expect(validateSettings(old as ReturnType<typeof defaultSettings>)).toBeNull();
    expect(validateSettings({ ...defaultSettings(), parallel: -1 })).toContain('automatic');
    expect(validateSettings({ ...defaultSettings(), parallel: 2.5 })).toContain('whole number');
  });
});
