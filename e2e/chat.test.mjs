// End-to-end test of the desktop app's main paths against the real Go
// backend (the `-tags dev` build) in headless Chromium: import by a file
// drop, chat with tokens streaming in, stop, regenerate, edit and switch
// branches, search, export, download from a local mirror, and the local API.
//
// The model is stories260K from ../shared/models, or a synthetic one.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, openSection, startApp, tempDir } from './harness.mjs';
import { testModels } from './models.mjs';

let home;
let work;
let models;
let mirror;
let app;
let appEnv;
let browser;
let page;

// A store mirror on loopback serving {repo}/resolve/main/{file} with Range
// support, slowly enough that progress can be watched.
const rangesAsked = [];

function startMirror(files) {
  const server = createServer(async (req, res) => {
    if (req.headers.range) rangesAsked.push(`${req.url} ${req.headers.range}`);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/([^/?]+)/.exec(req.url ?? '');
    const file = m && files[`${m[1]}/${m[2]}`];
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const size = (await stat(file)).size;
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
    }
    const headers = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(end - start + 1),
      'Accept-Ranges': 'bytes',
      ETag: '"e2e-' + size + '"',
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // About 25 chunks of at most 16 KiB, 80 ms apart.
    const chunk = Math.max(1024, Math.min(16384, Math.ceil(size / 25)));
    const stream = createReadStream(file, { start, end, highWaterMark: chunk });
    stream.on('data', (buf) => {
      stream.pause();
      res.write(buf, () => setTimeout(() => stream.resume(), 80));
    });
    stream.on('end', () => res.end());
    req.on('close', () => stream.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  home = await tempDir('ir-e2e-chat-');
  work = await tempDir('ir-e2e-files-');
  models = await testModels(work);
  console.log(`# models: ${models.source}`);
  mirror = await startMirror({
    'e2e/tiny/stories-dl.Q4_0.gguf': models.download,
    'e2e/more/stories-resume.F16.gguf': models.resume,
  });
  const exports = path.join(work, 'exports');
  await mkdir(exports);
  appEnv = {
    IR_STORE_URL: `http://127.0.0.1:${mirror.address().port}`,
    IR_EXPORT_DIR: exports,
    // Slow replies down so that Stop lands mid-stream (a tiny model is fast).
    IR_E2E_PIECE_DELAY: '15ms',
  };
  app = await startApp(home, appEnv);
  browser = await openBrowser();
  page = browser.page;
  await page.goto(app.baseURL + '/');
  await page.getByRole('heading', { level: 1, name: 'Chats' }).waitFor();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  mirror?.close();
  if (!process.env.IR_E2E_KEEP_HOME) await rm(home, { recursive: true, force: true });
  else await writeFile(process.env.IR_E2E_KEEP_HOME, home);
  await rm(work, { recursive: true, force: true });
});

/** Drops files on the window the way Wails reports a drop to Go (see app_dev.go). */
async function dropFiles(paths) {
  await page.evaluate((p) => window.runtime.EventsEmit('e2e:file-drop', p), paths);
}

const replies = () => page.locator('[data-role="assistant"]');
const questions = () => page.locator('[data-role="user"]');
const replyText = (i) => replies().nth(i).locator('[data-testid="reply-text"]').innerText();

test('with no model, Chats offers a download and finds the store online', async () => {
  const offer = page.getByTestId('first-model');
  await offer.getByRole('button', { name: /^Download / }).waitFor();
  assert.equal(await offer.getByTestId('offline').count(), 0);
});

test('dropping a model file imports it with progress; a bad file fails clearly', async () => {
  const bad = path.join(work, 'notes.gguf');
  await writeFile(bad, 'this is not a GGUF file at all');
  await dropFiles([models.chat, bad]);
  await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor(); // a drop shows Models
  await page.locator('[data-testid="import"][data-state="done"]').waitFor();
  const failed = page.locator('[data-testid="import"][data-state="failed"]');
  await failed.waitFor();
  assert.match(await failed.innerText(), /notes\.gguf[\s\S]*not a valid GGUF/);
  const card = page.locator('[data-testid="model-card"]');
  await card.waitFor();
  assert.equal(await card.count(), 1);
  const text = await card.innerText();
  assert.match(text, /Architecture\s+llama/);
  // stories260K names its file type; a synthetic model shows its largest tensor type.
  assert.match(text, models.source.startsWith('shared') ? /Quantization\s+Q8_0/ : /Quantization\s+[A-Z0-9_]+/);
  assert.match(text, /Memory\s+\S+/);
});

test('a chat streams tokens into the window one by one', async () => {
  await openSection(page, 'Chats');
  await page.keyboard.press('Control+n');
  await page.locator('select[aria-label="Model"]').waitFor();
  await page.waitForFunction(() => document.querySelector('select[aria-label="Model"]')?.value !== '');
  // Picking a model starts loading it; the header says when it is ready.
  await page.getByTestId('model-load').filter({ hasText: /loaded in [\d.]+ s/ }).waitFor();
  // Short replies keep the test quick and the conversation within the context.
  await page.getByRole('button', { name: 'Parameters' }).click();
  const settings = page.getByRole('form', { name: 'Chat settings' });
  assert.equal(await settings.locator('input[name="temperature"]').getAttribute('placeholder'), '0.8');
  await settings.locator('input[name="maxTokens"]').fill('40');
  await settings.locator('textarea[name="system"]').fill('You tell short stories.');
  await settings.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('System: You tell short stories.').waitFor();
  // Watch the reply's text in the page: every change of the DOM is recorded.
  await page.evaluate(() => {
    window.__seen = [];
    window.__tokens = [];
    window.__final = null;
    window.runtime.EventsOn('chat', (ev) => {
      if (ev.type === 'token') window.__tokens.push([ev.seq, ev.text]);
      if (ev.type === 'done') window.__final = ev.message.content;
    });
    new MutationObserver(() => {
      const r = document.querySelector('[data-role="assistant"] [data-testid="reply-text"]');
      const t = r?.textContent ?? '';
      if (t && window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Once upon a time');
  await box.press('Enter');
  await questions().first().waitFor();
  await replies().first().locator('[data-testid="stats"]').waitFor({ timeout: 120_000 });
  const seen = await page.evaluate(() => window.__seen);
  const tokens = await page.evaluate(() => window.__tokens);
  const stored = await page.evaluate(() => window.__final);
  const final = (await replyText(0)).trim();
  assert.ok(tokens.length >= 5, `only ${tokens.length} token events`);
  // The pieces, put in order by their numbers, are exactly the stored reply.
  tokens.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(tokens.map((t) => t[0]), tokens.map((_, i) => i + 1));
  assert.equal(tokens.map((t) => t[1]).join(''), stored);
  assert.ok(seen.length >= 5, `the reply appeared in ${seen.length} steps, not token by token`);
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].length >= seen[i - 1].length, 'the reply only grows while it streams');
  }
  assert.ok(final.length > 0);
  const stats = await replies().first().locator('[data-testid="stats"]').innerText();
  assert.match(stats, /\d+ prompt · \d+ generated · first token \d+ ms · [\d.]+ tokens\/s/);
  assert.match(await page.locator('[data-testid="context-meter"]').innerText(), /\d+ \/ \d+ tokens/);
  assert.equal(await page.locator('[data-testid="conversation"]').first().innerText(), 'Once upon a time');
});

test('Esc stops a reply mid-stream and it is kept as stopped', async () => {
  // Press Esc from inside the page as soon as the first piece arrives.
  await page.evaluate(() => {
    const off = window.runtime.EventsOn('chat', (ev) => {
      if (ev.type === 'token') {
        off();
        window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
      }
    });
  });
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Tell me a long story about a dragon');
  await box.press('Enter');
  const second = replies().nth(1);
  await second.getByText('Stopped').waitFor({ timeout: 120_000 });
  const stats = await second.locator('[data-testid="stats"]').innerText();
  const generated = Number(/(\d+) generated/.exec(stats)[1]);
  assert.ok(generated >= 1 && generated < 40, `stopped after ${generated} tokens`);
});

test('regenerate keeps both versions; the switcher moves between them', async () => {
  const first = (await replyText(0)).trim();
  await replies().first().getByRole('button', { name: 'Regenerate' }).click();
  await replies().first().getByTestId('version-label').filter({ hasText: '2/2' }).waitFor();
  await replies().first().locator('[data-testid="stats"]').waitFor({ timeout: 120_000 });
  await replies().first().getByRole('button', { name: 'Previous version' }).click();
  await replies().first().getByTestId('version-label').filter({ hasText: '1/2' }).waitFor();
  assert.equal((await replyText(0)).trim(), first);
  // The later turn hangs off the first version.
  assert.equal(await questions().count(), 2);
});

test('editing a question makes a branch; switching brings the old one back', async () => {
  await questions().first().getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByRole('textbox', { name: 'Edit message' });
  await editor.fill('Once upon a time there was a cat');
  await editor.press('Enter');
  await questions().first().getByTestId('version-label').filter({ hasText: '2/2' }).waitFor();
  assert.match(await questions().first().innerText(), /there was a cat/);
  assert.equal(await questions().count(), 1);
  await replies().first().locator('[data-testid="stats"]').waitFor({ timeout: 120_000 });
  await questions().first().getByRole('button', { name: 'Previous version' }).click();
  await questions().first().getByTestId('version-label').filter({ hasText: '1/2' }).waitFor();
  assert.match(await questions().first().innerText(), /Once upon a time/);
  // A version shows its most recent continuation: the regenerated reply.
  await replies().first().getByTestId('version-label').filter({ hasText: '2/2' }).waitFor();
  // Its other reply still leads to the second question.
  await replies().first().getByRole('button', { name: 'Previous version' }).click();
  await questions().nth(1).filter({ hasText: 'dragon' }).waitFor();
});

test('Ctrl+K searches all messages and opens the hit', async () => {
  await page.keyboard.press('Control+n'); // somewhere else first
  await page.keyboard.press('Control+k');
  const search = page.getByRole('searchbox', { name: 'Search chats' });
  await search.fill('dragon');
  const hit = page.getByTestId('search-results').getByRole('button').first();
  await hit.waitFor();
  assert.equal(await hit.locator('mark').first().innerText(), 'dragon');
  await hit.click();
  await questions().filter({ hasText: 'dragon' }).waitFor();
});

test('a conversation exports to Markdown and JSON', async () => {
  await page.getByRole('button', { name: 'Export Markdown' }).click();
  const saved = page.getByRole('status').filter({ hasText: 'Saved to' });
  await saved.waitFor();
  const file = (await saved.innerText()).replace('Saved to ', '').trim();
  const md = await readFile(file, 'utf8');
  assert.match(md, /^# Once upon a time\n/);
  assert.match(md, /## User\n\nTell me a long story about a dragon/);
  await page.getByRole('button', { name: 'Export JSON' }).click();
  await page.getByRole('status').filter({ hasText: '.json' }).waitFor();
  const json = JSON.parse(await readFile(file.replace(/\.md$/, '.json'), 'utf8'));
  assert.equal(json.format, 'inference-runtime.conversation');
  assert.ok(json.messages.length >= 6, `${json.messages.length} messages exported`);
});

test('a download from a local mirror shows progress and installs the model', async () => {
  await openSection(page, 'Store');
  await page.getByRole('textbox', { name: 'Model to download' }).fill('e2e/tiny/stories-dl.Q4_0.gguf');
  await page.getByRole('button', { name: 'Download', exact: true }).first().click();
  const row = page.locator('[data-testid="download"]');
  await row.waitFor();
  // Progress is reported while the bytes arrive.
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid="download"] progress');
    return p && p.value > 0 && p.value < p.max;
  }, null, { timeout: 60_000 });
  assert.match(await row.locator('[data-testid="download-progress"]').innerText(), /of/);
  await page.locator('[data-testid="download"][data-state="done"]').waitFor({ timeout: 120_000 });
  await openSection(page, 'Models');
  await page.locator('[data-testid="model-card"]').filter({ hasText: 'e2e/tiny:Q4_0' }).waitFor();
});

test('switching the API on serves it on the chosen port', async () => {
  await openSection(page, 'Settings');
  const port = await new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  await page.locator('input[name="apiEnabled"]').check();
  await page.locator('input[name="apiPort"]').fill(String(port));
  await page.getByRole('button', { name: 'Save' }).click();
  const url = page.getByTestId('api-url');
  await url.waitFor();
  assert.equal(await url.innerText(), `http://127.0.0.1:${port}`);
  const tags = await (await fetch(`http://127.0.0.1:${port}/api/tags`)).json();
  const names = tags.models.map((m) => m.name);
  assert.ok(names.includes('e2e/tiny:Q4_0'), `models over the API: ${names}`);
  // Switching it off closes the port.
  await page.locator('input[name="apiEnabled"]').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('api-status').filter({ hasText: 'Not running' }).waitFor();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/api/tags`));
});

test('a download cut off by quitting the app continues at the next start', async () => {
  await openSection(page, 'Store');
  await page.getByRole('textbox', { name: 'Model to download' }).fill('e2e/more/stories-resume.F16.gguf');
  await page.getByRole('button', { name: 'Download', exact: true }).first().click();
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('[data-testid="download"]'));
    const p = rows.find((r) => r.textContent.includes('e2e/more'))?.querySelector('progress');
    return p && p.value > 0 && p.value < p.max;
  }, null, { timeout: 60_000 });
  const old = new URL(app.baseURL).host;
  await app.stop(); // the window closes mid-download
  app = await startApp(home, appEnv);
  await page.goto(app.baseURL + '/');
  // The old page's attempts to reach the stopped app (refused, reset) are expected.
  for (let i = browser.errors.length - 1; i >= 0; i--) {
    if (browser.errors[i].includes(old)) browser.errors.splice(i, 1);
  }
  await openSection(page, 'Models');
  await page.locator('[data-testid="model-card"]').filter({ hasText: 'e2e/more:F16' }).waitFor({ timeout: 120_000 });
  assert.ok(
    rangesAsked.some((r) => r.startsWith('/e2e/more/') && !/bytes=0-/.test(r)),
    `the second start did not continue from the partial file: ${rangesAsked}`,
  );
});

test('no errors in the browser console (including CSP violations)', () => {
  assert.deepEqual(browser.errors, []);
});
