// Models for the end-to-end tests: stories260K from ../shared/models when it
// is there, else synthetic tiny models written by `ir synth` (our own GGUF
// writer), built on demand.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { root } from './harness.mjs';

const shared = path.resolve(root, '..', 'shared', 'models');

/**
 * Writes three different small GGUF models into dir and returns their paths:
 * { chat, download, resume, source } where source says where they came from.
 */
export async function testModels(dir) {
  const chat = path.join(dir, 'stories-chat.Q8_0.gguf');
  const download = path.join(dir, 'stories-dl.Q4_0.gguf');
  const resume = path.join(dir, 'stories-resume.F16.gguf');
  const q8 = path.join(shared, 'stories260K-Q8_0.gguf');
  const q4 = path.join(shared, 'stories260K-Q4_0.gguf');
  const f16 = path.join(shared, 'stories260K-F16.gguf');
  // IR_E2E_SYNTH=1 forces the synthetic models (to test that path).
  if (!process.env.IR_E2E_SYNTH && existsSync(q8) && existsSync(q4) && existsSync(f16)) {
    await copyFile(q8, chat);
    await copyFile(q4, download);
    await copyFile(f16, resume);
    return { chat, download, resume, source: 'shared stories260K' };
  }
  const ir = process.env.IR_E2E_IR ?? path.join(root, 'bin', 'ir');
  const run = (args) =>
    existsSync(ir)
      ? execFileSync(ir, args, { stdio: 'inherit' })
      : execFileSync('go', ['run', '-tags', 'sqlite_fts5', './cmd/ir', ...args], { cwd: root, stdio: 'inherit' });
  run(['synth', 'tiny', 'Q8_0', chat]);
  run(['synth', 'tiny', 'Q4_0', download]);
  run(['synth', 'tiny', 'F16', resume]);
  return { chat, download, resume, source: 'synthetic (ir synth tiny)' };
}
