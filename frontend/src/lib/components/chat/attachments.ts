// Pictures for the message box: reading a file into base64 and the limits
// the Go side enforces (backend/history), checked here first so that the
// user hears about them when attaching, not when sending.
import type { ChatImage, ModelCard } from '../../api';

export const maxImages = 8;
export const maxImageBytes = 16 << 20;
const types = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Why an image cannot join the `count` already attached; null when it can. */
export function attachmentProblem(count: number, img: ChatImage): string | null {
  if (count >= maxImages) return `at most ${maxImages} images go with one message`;
  if (!types.has(img.mime)) return 'not a PNG, JPEG, GIF or WebP image';
  if ((img.data.length * 3) / 4 > maxImageBytes) return 'larger than the 16 MiB an image may take';
  return null;
}

/** Whether the model named `name` takes images; undefined when unknown (not listed). */
export function visionOf(models: ModelCard[], name: string): boolean | undefined {
  const lower = name.toLowerCase();
  const m = models.find((x) => x.name.toLowerCase() === lower || (x.aliases ?? []).some((a) => a.toLowerCase() === lower));
  return m ? !!m.projector : undefined;
}

/** Reads a picked or dropped file as base64. */
export async function readImageFile(f: File): Promise<ChatImage & { name: string }> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: f.name, mime: f.type, data: btoa(bin) };
}
