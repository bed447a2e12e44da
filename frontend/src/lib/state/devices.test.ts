import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../testing/memory-backend';
import { applyChoice, choiceOf, deviceChoices, gpuLayersError, runsOn } from './devices';

describe('device choices', () => {
  it('round-trips a picker value through the settings', () => {
    const s = defaultSettings();
    for (const v of ['auto', 'cpu', 'vulkan/vulkan1']) {
      applyChoice(s, v);
      expect(choiceOf(s)).toBe(v);
    }
    expect(s).toMatchObject({ backend: 'vulkan', device: 'vulkan1' });
    applyChoice(s, 'cpu');
    expect(s).toMatchObject({ backend: 'cpu', device: '' });
  });

  it('lists a backend that has no devices as unavailable, and skips the CPU driver (it is "CPU")', () => {
    const c = deviceChoices([
      { backend: 'cpu', name: 'cpu', description: 'x', gpu: false, memoryTotal: 0, memoryFree: 0 },
      { backend: 'vulkan', name: '', description: '', gpu: false, memoryTotal: 0, memoryFree: 0, error: 'no loader' },
    ]);
    expect(c.map((x) => [x.value, x.unavailable])).toEqual([['auto', ''], ['cpu', ''], ['vulkan', 'no loader']]);
  });

  it('checks GPU layers like --gpu-layers', () => {
    for (const ok of [undefined, '', 'auto', 'all', '0', '33']) expect(gpuLayersError(ok)).toBeNull();
    for (const bad of ['-1', '1.5', 'some']) expect(gpuLayersError(bad)).toContain('GPU layers');
  });

  it('says where a loaded model runs', () => {
    expect(runsOn({ device: 'cpu', gpuLayers: 0, layers: 16 })).toBe('Loaded on the CPU');
    expect(runsOn({ device: 'vulkan0', gpuLayers: 16, layers: 16 })).toBe('Loaded on vulkan0: all 16 layers');
    expect(runsOn({})).toBe('Loaded on the CPU');
  });
});
