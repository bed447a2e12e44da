// Speculative decoding through the official clients: a request that names
// a draft (the model itself, or prompt lookup) gets the reply it gets
// without one, with the drafted tokens counted. run.sh sets IR_URL and
// IR_MODEL.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const url = process.env.IR_URL;
const model = process.env.IR_MODEL;
if (!url || !model) {
  throw new Error('IR_URL and IR_MODEL must be set (use e2e/api/run.sh)');
}
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const ollama = new Ollama({ host: url });

describe('speculative decoding', () => {
  test('openai: draft model and prompt lookup keep the reply', async () => {
    const params = { model, prompt: 'Once upon a time, there was a little', temperature: 0, max_tokens: 24 };
    const plain = await openai.completions.create(params);
    for (const draft of [model, 'lookup']) {
      const res = await openai.completions.create({ ...params, draft });
      assert.equal(res.choices[0].text, plain.choices[0].text, `draft ${draft}`);
      if (draft === model) {
        const d = res.usage.completion_tokens_details;
        assert.ok(d && d.accepted_prediction_tokens > 0 && d.rejected_prediction_tokens === 0, JSON.stringify(res.usage));
      }
    }
  });

  test('ollama: options.draft keeps the reply and counts the drafts', async () => {
    const req = { model, prompt: 'Once upon a time, there was a little', raw: true, options: { temperature: 0, num_predict: 24 } };
    const plain = await ollama.generate(req);
    const res = await ollama.generate({ ...req, options: { ...req.options, draft: model } });
    assert.equal(res.response, plain.response);
    assert.ok(res.draft_count > 0 && res.draft_accepted_count === res.draft_count, JSON.stringify(res));
    assert.equal(plain.draft_count, undefined);
  });
});
