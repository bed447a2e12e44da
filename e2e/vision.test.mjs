// End-to-end test of images in the desktop app: a model dropped with its
// vision projector next to it is marked "vision", a picture dropped on the
// window or picked with Attach image shows as a thumbnail in the message
// box, goes with the question, gets a reply, and is kept in the JSON export.
//
// The model is the tiny Gemma 3 with its projector from ../shared/models;
// without them the tests are skipped, saying so.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, openSection, root, startApp, tempDir } from './harness.mjs';

const shared = path.resolve(root, '..', 'shared', 'models');
const files = {
  model: path.join(shared, 'conf-tiny', 'tiny-gemma3-f32.gguf'),
  projector: path.join(shared, 'vision', 'tiny-gemma3-mmproj-f32.gguf'),
  image: path.join(shared, 'vision', 'img1-40x28.png'),
};
const missing = Object.values(files).filter((f) => !existsSync(f));
const skip = missing.length > 0 ? `the shared tiny Gemma 3 and its projector are absent (${missing.join(', ')})` : false;

let home;
let work;
let app;
let browser;
let page;

before(async () => {
  if (skip) return;
  home = await tempDir('ir-e2e-vision-');
  work = await tempDir('ir-e2e-vision-files-');
  // Side by side, as published: the import pairs them by name and size.
  await copyFile(files.model, path.join(work, 'tiny-gemma3-f32.gguf'));
  await copyFile(files.projector, path.join(work, 'mmproj-tiny-gemma3-f32.gguf'));
  const exports = path.join(work, 'exports');
  await mkdir(exports);
  app = await startApp(home, { IR_EXPORT_DIR: exports });
  browser = await openBrowser();
  page = browser.page;
  await page.goto(app.baseURL + '/');
  await page.getByRole('heading', { level: 1, name: 'Chats' }).waitFor();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  if (home) await rm(home, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

test('a model dropped with its projector next to it is a vision model', { skip }, async () => {
  await page.evaluate((p) => window.runtime.EventsEmit('e2e:file-drop', p), [path.join(work, 'tiny-gemma3-f32.gguf')]);
  await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
  await page.locator('[data-testid="import"][data-state="done"]').waitFor();
  const card = page.locator('[data-testid="model-card"]');
  await card.getByTestId('vision').waitFor();
  assert.equal(await card.count(), 1, 'the projector is no model of its own');
});

test('a picture attached in the message box goes with the question and gets a reply', { skip }, async () => {
  await openSection(page, 'Chats');
  await page.keyboard.press('Control+n');
  await page.waitForFunction(() => document.querySelector('select[aria-label="Model"]')?.value !== '');
  await page.getByRole('button', { name: 'Parameters' }).click();
  const settings = page.getByRole('form', { name: 'Chat settings' });
  await settings.locator('input[name="maxTokens"]').fill('8');
  await settings.getByRole('button', { name: 'Apply' }).click();

  assert.equal(await page.getByRole('button', { name: 'Attach image' }).isDisabled(), false);
  // A picture dropped on the window goes to the message box, not the library.
  await page.evaluate((p) => window.runtime.EventsEmit('e2e:file-drop', p), [files.image]);
  await page.getByTestId('attachment').waitFor();
  await page.getByRole('heading', { level: 1, name: 'Chats' }).waitFor();
  await page.getByRole('button', { name: 'Remove img1-40x28.png' }).click();
  assert.equal(await page.getByTestId('attachment').count(), 0);
  await page.getByTestId('image-input').setInputFiles(files.image);
  const thumb = page.getByTestId('attachment');
  await thumb.waitFor();
  assert.match(await thumb.getAttribute('src'), /^data:image\/png;base64,iVBOR/);

  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('What is in this picture?');
  await box.press('Enter');
  const question = page.locator('[data-role="user"]').first();
  await question.getByTestId('message-image').waitFor();
  assert.equal(await page.getByTestId('attachment').count(), 0, 'the box empties once sent');
  const reply = page.locator('[data-role="assistant"]').first();
  await reply.locator('[data-testid="stats"]').waitFor({ timeout: 120_000 });
  assert.equal(await reply.getByRole('alert').count(), 0, 'the reply failed');
  // The prompt holds the image's positions, far more than the words.
  const stats = await reply.locator('[data-testid="stats"]').innerText();
  const prompt = Number(/(\d+) prompt/.exec(stats)?.[1]);
  assert.ok(prompt > 20, `prompt of ${prompt} tokens: the image was not counted`);
});

test('the picture is kept in the JSON export', { skip }, async () => {
  await page.getByRole('button', { name: 'Export JSON' }).click();
  const saved = page.getByRole('status').filter({ hasText: '.json' });
  await saved.waitFor();
  const file = (await saved.innerText()).replace('Saved to ', '').trim();
  const json = JSON.parse(await readFile(file, 'utf8'));
  const q = json.messages.find((m) => m.role === 'user');
  assert.equal(q.images?.length, 1);
  assert.equal(q.images[0].mime, 'image/png');
  assert.deepEqual(Buffer.from(q.images[0].data, 'base64'), await readFile(files.image));
});
