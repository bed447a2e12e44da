// Shared pieces of the end-to-end tests: start the dev build of the app with
// its dev server on a free loopback port, and open headless Chromium on it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// playwright-core is a dependency of the frontend project; resolve it from there.
const { chromium } = createRequire(path.join(root, 'frontend', 'package.json'))('playwright-core');

const binary = path.resolve(root, process.env.IR_E2E_BINARY ?? 'bin/inference-runtime-dev');
const chromiumPath = process.env.IR_E2E_CHROMIUM ?? '/usr/bin/chromium';
const startTimeoutMs = 90_000;

/** A fresh temporary directory; the caller removes it. */
export function tempDir(prefix) {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A loopback port nothing listens on (until someone takes it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the dev binary with IR_HOME=home (plus env) and waits until its
 * dev server answers. Returns { baseURL, output(), stop() }.
 */
export async function startApp(home, env = {}) {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(
    binary,
    ['-assetdir', path.join(root, 'frontend', 'dist'), '-devserver', `127.0.0.1:${port}`, '-loglevel', 'Warning'],
    { cwd: root, env: { ...process.env, ...env, IR_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + startTimeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`dev binary exited with ${child.exitCode}:\n${output}`);
    }
    try {
      const res = await fetch(baseURL + '/');
      if (res.ok) return { baseURL, output: () => output, stop };
      lastErr = new Error(`HTTP ${res.status}`);
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`dev server at ${baseURL} did not come up: ${lastErr}\n${output}`);
}

/**
 * Opens headless Chromium with a fresh profile. Returns { page, errors, close() };
 * errors collects console errors, page errors and failed requests.
 */
export async function openBrowser() {
  const profile = await tempDir('ir-e2e-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => {
    // Wails v2.15's dev-only connection overlay (/wails/ipc.js) mounts a
    // Svelte 5 component with the Svelte 3 `new` API and throws; it is not
    // part of the production app. Everything else counts.
    if (!String(err.stack).includes('/wails/ipc.js')) errors.push(String(err.stack ?? err));
  });
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  const close = async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  };
  return { page, errors, close };
}

/** Clicks a sidebar entry and waits for its heading. */
export async function openSection(page, label) {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}
