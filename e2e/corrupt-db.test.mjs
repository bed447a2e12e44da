// End-to-end test: with a damaged database file the app still starts, says
// what is wrong (naming the file), and leaves the file alone.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, openSection, startApp, tempDir } from './harness.mjs';

const garbage = 'this is not an SQLite database\n'.repeat(100);
let home;
let dbFile;
let app;
let browser;

before(async () => {
  home = await tempDir('ir-e2e-corrupt-');
  dbFile = path.join(home, 'inference-runtime.db');
  await writeFile(dbFile, garbage);
  app = await startApp(home);
  browser = await openBrowser();
  await browser.page.goto(app.baseURL + '/');
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await rm(home, { recursive: true, force: true });
});

test('the window shows a clear database error', async () => {
  const alert = browser.page.getByRole('alert').filter({ hasText: 'is corrupt' });
  await alert.waitFor();
  assert.match(await alert.innerText(), new RegExp(`database ${dbFile.replaceAll('/', '\\/')} is corrupt: file is not a database`));
});

test('the rest of the app still works', async () => {
  await openSection(browser.page, 'Settings');
  await browser.page.getByTestId('app-version').waitFor();
});

test('the damaged file is left untouched', async () => {
  assert.equal(await readFile(dbFile, 'utf8'), garbage);
});
