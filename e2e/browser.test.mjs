// End-to-end test: the real Go backend (a `-tags dev` build, whose Wails dev
// server serves the frontend and the bindings over HTTP and a WebSocket)
// driven by headless Chromium through playwright-core.
//
// Run by `make test-e2e` under Xvfb (the dev build also opens its desktop
// window). Inputs from the environment:
//   IR_E2E_BINARY      the dev binary (default bin/inference-runtime-dev)
//   IR_E2E_VERSION     the version the binary was linked with (checked in the UI)
//   IR_E2E_GO_VERSION  the Go version that built it (checked in the UI)
//   IR_E2E_CHROMIUM    the browser (default /usr/bin/chromium)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// playwright-core is a dependency of the frontend project; resolve it from there.
const { chromium } = createRequire(path.join(root, 'frontend', 'package.json'))('playwright-core');

const binary = path.resolve(root, process.env.IR_E2E_BINARY ?? 'bin/inference-runtime-dev');
const chromiumPath = process.env.IR_E2E_CHROMIUM ?? '/usr/bin/chromium';
const startTimeoutMs = 90_000;

let app; // the dev binary's child process
let appOutput = '';
let home; // temporary IR_HOME
let profile; // temporary Chromium user-data-dir
let context; // the browser context
let page;
let baseURL;
const consoleErrors = [];

function freePort() {
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

async function waitForHTTP(url, deadline) {
  let lastErr;
  while (Date.now() < deadline) {
    if (app.exitCode !== null) {
      throw new Error(`dev binary exited with ${app.exitCode}:\n${appOutput}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
      lastErr = new Error(`HTTP ${res.status}`);
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`dev server at ${url} did not come up: ${lastErr}\n${appOutput}`);
}

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'ir-e2e-home-'));
  profile = await mkdtemp(path.join(tmpdir(), 'ir-e2e-chromium-'));
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  app = spawn(binary, ['-assetdir', path.join(root, 'frontend', 'dist'), '-devserver', `127.0.0.1:${port}`, '-loglevel', 'Warning'], {
    cwd: root,
    env: { ...process.env, IR_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  app.stdout.on('data', (d) => (appOutput += d));
  app.stderr.on('data', (d) => (appOutput += d));
  await waitForHTTP(baseURL + '/', Date.now() + startTimeoutMs);

  context = await chromium.launchPersistentContext(profile, {
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
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => {
    // Wails v2.15's dev-only connection overlay (/wails/ipc.js) mounts a
    // Svelte 5 component with the Svelte 3 `new` API and throws; it is not
    // part of the production app. Everything else counts.
    if (!String(err.stack).includes('/wails/ipc.js')) consoleErrors.push(String(err.stack ?? err));
  });
  page.on('requestfailed', (r) => consoleErrors.push('request failed: ' + r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(baseURL + '/');
});

after(async () => {
  await context?.close();
  if (app && app.exitCode === null) {
    const exited = new Promise((r) => app.once('exit', r));
    app.kill('SIGTERM');
    const timer = setTimeout(() => app.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(profile, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

async function openSection(label) {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
  const current = await page.locator('nav button[aria-current="page"]').innerText();
  assert.equal(current.trim(), label);
}

test('the window title is Inference Runtime', async () => {
  assert.equal(await page.title(), 'Inference Runtime');
});

test('Chats is the first section and shows its empty state', async () => {
  await page.getByRole('heading', { level: 1, name: 'Chats' }).waitFor();
  await page.getByRole('heading', { name: 'No conversations yet' }).waitFor();
});

test('Models, Store and Settings each open', async () => {
  await openSection('Models');
  await page.getByRole('heading', { name: 'No models installed' }).waitFor();
  await openSection('Store');
  await page.getByRole('heading', { name: 'The model catalog is not available yet' }).waitFor();
  await openSection('Settings');
  await page.getByRole('heading', { name: 'About' }).waitFor();
  await openSection('Chats');
  await page.getByRole('heading', { name: 'No conversations yet' }).waitFor();
});

test('Settings shows build information from the Go binding', async () => {
  await openSection('Settings');
  const version = page.getByTestId('app-version');
  await version.waitFor();
  if (process.env.IR_E2E_VERSION) {
    assert.equal(await version.innerText(), process.env.IR_E2E_VERSION);
  } else {
    assert.notEqual((await version.innerText()).trim(), '');
  }
  if (process.env.IR_E2E_GO_VERSION) {
    assert.equal(await page.getByTestId('go-version').innerText(), process.env.IR_E2E_GO_VERSION);
  }
  assert.equal(await page.getByTestId('data-dir').innerText(), home);
});

test('saving a setting goes through Go to the settings file and persists', async () => {
  await openSection('Settings');
  await page.locator('select[name="theme"]').selectOption('dark');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

  const file = JSON.parse(await readFile(path.join(home, 'settings.json'), 'utf8'));
  assert.equal(file.theme, 'dark');
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');

  await page.reload();
  await openSection('Settings');
  await page.getByTestId('app-version').waitFor();
  assert.equal(await page.locator('select[name="theme"]').inputValue(), 'dark');
});

test('an invalid value is refused with a message', async () => {
  await openSection('Settings');
  await page.locator('input[name="apiPort"]').fill('0');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: 'API port must be between 1 and 65535' }).waitFor();
  const file = JSON.parse(await readFile(path.join(home, 'settings.json'), 'utf8'));
  assert.equal(file.api.port, 11435);
});

test('no errors in the browser console (including CSP violations)', () => {
  assert.deepEqual(consoleErrors, []);
});
