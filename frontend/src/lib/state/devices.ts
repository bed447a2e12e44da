// The Settings' device picker: Automatic, the CPU, or one device that
// `ir devices` lists, stored as backend + device; and the GPU layers choice
// (auto, all or a number), stored as text like --gpu-layers takes it.

import type { DeviceInfo, Settings } from '../api';

/** One entry of the picker: value is 'auto', 'cpu' or 'backend/device'. */
export interface DeviceChoice {
  value: string;
  label: string;
  /** Why it cannot be chosen (a backend without devices); '' when it can. */
  unavailable: string;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** The picker's entries for the devices of this machine. */
export function deviceChoices(devices: DeviceInfo[]): DeviceChoice[] {
  const out: DeviceChoice[] = [
    { value: 'auto', label: 'Automatic (a GPU when the model fits, else the CPU)', unavailable: '' },
    { value: 'cpu', label: 'CPU', unavailable: '' },
  ];
  for (const d of devices) {
    if (d.backend === 'cpu') continue;
    if (!d.name) {
      out.push({ value: d.backend, label: `${d.backend}: ${d.error || 'no devices'}`, unavailable: d.error || 'no devices' });
      continue;
    }
    const memory = d.memoryTotal > 0 ? `, ${gib(d.memoryTotal)}` : '';
    out.push({ value: `${d.backend}/${d.name}`, label: `${d.name}: ${d.description}${memory}`, unavailable: '' });
  }
  return out;
}

/** The picker's value for saved settings. */
export function choiceOf(s: Settings): string {
  if (s.backend === 'auto' || s.backend === 'cpu') return s.backend;
  return s.device ? `${s.backend}/${s.device}` : s.backend;
}

/** Sets the settings' backend and device from a picker value. */
export function applyChoice(s: Settings, value: string): void {
  const slash = value.indexOf('/');
  s.backend = slash < 0 ? value : value.slice(0, slash);
  s.device = slash < 0 ? '' : value.slice(slash + 1);
}

/** Checks the GPU layers text like backend/config does; null when fine. */
export function gpuLayersError(v: string | undefined): string | null {
  if (v === undefined || v === '' || v === 'auto' || v === 'all' || /^\d+$/.test(v)) return null;
  return `GPU layers must be auto, all or a whole number of layers (got "${v}")`;
}

/** Where a loaded model runs, from the runner's data, for the Models view. */
export function runsOn(m: { device?: string; gpuLayers?: number; layers?: number }): string {
  const gpu = m.gpuLayers ?? 0;
  if (!m.device || m.device === 'cpu' || gpu <= 0) return 'Loaded on the CPU';
  const device = m.device.replace(/\+cpu$/, '');
  if (m.layers && gpu < m.layers) return `Loaded on ${device}: ${gpu} of ${m.layers} layers, the rest on the CPU`;
  return `Loaded on ${device}: all ${m.layers ?? gpu} layers`;
}
