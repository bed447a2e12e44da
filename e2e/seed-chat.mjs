// Prepares a data folder with a real conversation, for a screenshot of the
// production app: the dev build imports a model (simulated drop) and one
// question is answered by it, driven through the UI in headless Chromium.
//
//   IR_HOME=/some/dir node e2e/seed-chat.mjs   (under Xvfb; uses bin/inference-runtime-dev)
import { rm } from 'node:fs/promises';
import { openBrowser, openSection, startApp, tempDir } from './harness.mjs';
import { testModels } from './models.mjs';

const home = process.env.IR_HOME;
if (!home) throw new Error('set IR_HOME to the data folder to fill');
const work = await tempDir('ir-seed-');
const models = await testModels(work);
const app = await startApp(home);
const browser = await openBrowser();
try {
  const { page } = browser;
  await page.goto(app.baseURL + '/');
  await page.evaluate((p) => window.runtime.EventsEmit('e2e:file-drop', p), [models.chat]);
  await page.locator('[data-testid="model-card"]').waitFor();
  await openSection(page, 'Chats');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.waitForFunction(() => document.querySelector('select[aria-label="Model"]')?.value !== '');
  await page.getByRole('button', { name: 'Parameters' }).click();
  const form = page.getByRole('form', { name: 'Chat settings' });
  await form.locator('input[name="maxTokens"]').fill('120');
  await form.locator('input[name="temperature"]').fill('0');
  await form.getByRole('button', { name: 'Apply' }).click();
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Once upon a time');
  await box.press('Enter');
  await page.locator('[data-role="assistant"] [data-testid="stats"]').waitFor({ timeout: 120_000 });
  const reply = await page.locator('[data-role="assistant"] [data-testid="reply-text"]').innerText();
  console.log(`seeded ${home} with a chat (${models.source}); reply: ${reply.slice(0, 80)}…`);
} finally {
  await browser.close();
  await app.stop();
  await rm(work, { recursive: true, force: true });
}
