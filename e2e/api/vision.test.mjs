// Images through the official clients. run.sh sets IR_VISION_MODEL (the
// shared tiny Gemma 3, imported with its projector) and IR_VISION_IMAGE;
// without them (no ../shared) the tests are skipped, saying so.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const url = process.env.IR_URL;
const textModel = process.env.IR_MODEL;
if (!url || !textModel) {
  throw new Error('IR_URL and IR_MODEL must be set (use e2e/api/run.sh)');
}
const model = process.env.IR_VISION_MODEL;
const skip = model ? false : 'the shared tiny Gemma 3 and its projector are absent (../shared/models)';
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const ollama = new Ollama({ host: url });
const png = model ? readFileSync(process.env.IR_VISION_IMAGE).toString('base64') : '';

async function refused(p, pattern) {
  await assert.rejects(p, (err) => {
    const status = err.status ?? err.status_code;
    assert.equal(status, 400, `status ${status}: ${err.message}`);
    assert.match(err.message ?? String(err), pattern);
    return true;
  });
}

describe('images', { skip }, () => {
  test('ollama chat with images gets a reply', async () => {
    const res = await ollama.chat({
      model,
      messages: [{ role: 'user', content: 'What is in this picture?', images: [png] }],
      options: { temperature: 0, num_predict: 8 },
    });
    assert.equal(res.message.role, 'assistant');
    assert.ok(res.message.content.length > 0, 'empty reply');
    // The image's positions are in the prompt, far more than the words.
    assert.ok(res.prompt_eval_count > 20, `prompt of ${res.prompt_eval_count} tokens`);
  });

  test('ollama generate with images gets a reply', async () => {
    const res = await ollama.generate({ model, prompt: 'Describe it.', images: [png], options: { temperature: 0, num_predict: 8 } });
    assert.ok(res.response.length > 0, 'empty reply');
  });

  test('openai image_url with a data: URL gets a reply, streaming and not', async () => {
    const params = {
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
      temperature: 0,
      max_tokens: 8,
    };
    const res = await openai.chat.completions.create(params);
    assert.ok(res.choices[0].message.content.length > 0, 'empty reply');
    assert.ok(res.usage.prompt_tokens > 20, `prompt of ${res.usage.prompt_tokens} tokens`);
    const stream = await openai.chat.completions.create({ ...params, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, res.choices[0].message.content);
  });

  test('a remote image URL is a 400: the server does not fetch', async () => {
    await refused(
      openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
        max_tokens: 4,
      }),
      /remote image URLs are not fetched/,
    );
  });

  test('a corrupt image and an image for a text-only model are 400s naming the problem', async () => {
    const junk = Buffer.from('this is no picture at all').toString('base64');
    await refused(
      ollama.chat({ model, messages: [{ role: 'user', content: 'Hi', images: [junk] }], options: { num_predict: 4 } }),
      /image/i,
    );
    await refused(
      ollama.chat({ model: textModel, messages: [{ role: 'user', content: 'Hi', images: [png] }], options: { num_predict: 4 } }),
      /no vision projector/,
    );
  });
});
