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
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, openBrowser, openSection, startApp, tempDir } from './harness.mjs';

let home; // temporary IR_HOME
let app;
let browser;
let page;

before(async () => {
  home = await tempDir('ir-e2e-home-');
  // A store nobody answers at: the first-run offer must say so.
  app = await startApp(home, { IR_STORE_URL: `http://127.0.0.1:${await freePort()}` });
  browser = await openBrowser();
  page = browser.page;
  await page.goto(app.baseURL + '/');
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await rm(home, { recursive: true, force: true });
});

async function show(label) {
  await openSection(page, label);
  const current = await page.locator('nav button[aria-current="page"]').innerText();
  assert.equal(current.trim(), label);
}

test('the window title is Inference Runtime', async () => {
  assert.equal(await page.title(), 'Inference Runtime');
});

test('Chats is the first section and shows its empty state', async () => {
  await page.getByRole('heading', { level: 1, name: 'Chats' }).waitFor();
  await page.getByRole('heading', { name: 'No conversations yet' }).waitFor();
  assert.equal(await page.getByText('No conversations yet').count(), 1);
});

test('with no model, Chats offers one that suits this machine and says there is no network', async () => {
  const offer = page.getByTestId('first-model');
  await offer.getByRole('button', { name: /^Download .+ \(\d/ }).waitFor();
  assert.match(await offer.getByTestId('first-model-size').innerText(), /^\d+(\.\d)? [MG]B$/);
  assert.match(await offer.getByTestId('offline').innerText(), /^No network: 127\.0\.0\.1:\d+ cannot be reached/);
});

test('Models, Store and Settings each open', async () => {
  await show('Models');
  await page.getByRole('heading', { name: 'No models installed' }).waitFor();
  await show('Store');
  await page.locator('[data-testid="catalog-model"]').first().waitFor();
  await show('Settings');
  await page.getByRole('heading', { name: 'About' }).waitFor();
  await show('Chats');
  await page.getByRole('heading', { name: 'No conversations yet' }).waitFor();
});

test('Settings shows build information from the Go binding', async () => {
  await show('Settings');
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
  await show('Settings');
  await page.locator('select[name="theme"]').selectOption('dark');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

  const file = JSON.parse(await readFile(path.join(home, 'settings.json'), 'utf8'));
  assert.equal(file.theme, 'dark');
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');

  await page.reload();
  await show('Settings');
  await page.getByTestId('app-version').waitFor();
  assert.equal(await page.locator('select[name="theme"]').inputValue(), 'dark');
});

test('an invalid value is refused with a message', async () => {
  await show('Settings');
  await page.locator('input[name="apiPort"]').fill('0');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: 'API port must be between 1 and 65535' }).waitFor();
  const file = JSON.parse(await readFile(path.join(home, 'settings.json'), 'utf8'));
  assert.equal(file.api.port, 11435);
});

test('no errors in the browser console (including CSP violations)', () => {
  assert.deepEqual(browser.errors, []);
});
