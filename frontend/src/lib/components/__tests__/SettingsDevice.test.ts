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
  backend.devices.push({ backend: 'metal', name: '', description: '', gpu: false, memoryTotal: 0, memoryFree: 0, error: 'unavailable: not a Mac' });
  settings = new SettingsState(backend);
  const about = new AboutState(backend);
  await Promise.all([settings.load(), about.load()]);
  view = render(SettingsView, { settings, about });
  await until(() => settings.devices.length > 0, 'the devices');
  await settle();
});

afterEach(() => view.destroy());

const select = (name: string) => view.target.querySelector<HTMLSelectElement>(`select[name="${name}"]`)!;
function choose(name: string, value: string) {
  select(name).value = value;
  select(name).dispatchEvent(new Event('change', { bubbles: true }));
}

describe('the device picker', () => {
  it('offers Automatic, the CPU and each listed device, with a backend without devices disabled', () => {
    const options = Array.from(select('device').options);
    expect(options.map((o) => o.value)).toEqual(['auto', 'cpu', 'vulkan/vulkan0', 'metal']);
    expect(options[2].textContent).toContain('Radeon 780M, 8.0 GiB');
    expect(options[3].disabled).toBe(true);
    expect(select('device').value).toBe('auto');
    expect(select('gpuLayersMode').value).toBe('auto');
  });

  it('saves a device and a number of GPU layers', async () => {
    choose('device', 'vulkan/vulkan0');
    choose('gpuLayersMode', 'number');
    await settle();
    typeInto(view.target.querySelector<HTMLInputElement>('input[name="gpuLayers"]')!, '12');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.saved, 'the save');
    expect(backend.stored).toMatchObject({ backend: 'vulkan', device: 'vulkan0', gpuLayers: '12' });
  });

  it('saves the CPU with no device, and refuses a bad layer count before calling the backend', async () => {
    choose('device', 'cpu');
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.saved, 'the save');
    expect(backend.stored).toMatchObject({ backend: 'cpu', device: '' });

    choose('device', 'vulkan/vulkan0');
    choose('gpuLayersMode', 'number');
    await settle();
    typeInto(view.target.querySelector<HTMLInputElement>('input[name="gpuLayers"]')!, 'many');
    const saves = backend.saves;
    byText(view.target, 'button', 'Save').click();
    await until(() => settings.error !== null, 'the error');
    expect(settings.error).toContain('GPU layers');
    expect(backend.saves).toBe(saves);
  });
});
