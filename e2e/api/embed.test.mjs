// Embeddings and logprobs through the official clients. run.sh sets IR_URL
// and IR_MODEL, and IR_EMBED_MODEL / IR_EMBED_REF when the shared tiny-bert
// and llama.cpp's embeddings of it are present.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const url = process.env.IR_URL;
const model = process.env.IR_MODEL;
if (!url || !model) {
  throw new Error('IR_URL and IR_MODEL must be set (use e2e/api/run.sh)');
}
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const ollama = new Ollama({ host: url });

function assertUnit(v) {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
}

function maxDiff(a, b) {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

describe('embeddings', () => {
  test('openai and ollama clients agree on shape and values', async () => {
    const texts = ['The quick brown fox', 'Hello world'];
    const viaDefault = await openai.embeddings.create({ model, input: texts }); // the client asks for base64
    const viaFloat = await openai.embeddings.create({ model, input: texts, encoding_format: 'float' });
    const viaOllama = await ollama.embed({ model, input: texts });
    const legacy = await ollama.embeddings({ model, prompt: texts[1] });
    assert.equal(viaDefault.object, 'list');
    assert.equal(viaDefault.data.length, 2);
    assert.equal(viaOllama.embeddings.length, 2);
    assert.ok(viaDefault.usage.prompt_tokens > 0);
    for (let i = 0; i < 2; i++) {
      assert.equal(viaDefault.data[i].index, i);
      assertUnit(viaDefault.data[i].embedding);
      assert.ok(maxDiff(viaDefault.data[i].embedding, viaFloat.data[i].embedding) < 1e-6);
      assert.ok(maxDiff(viaFloat.data[i].embedding, viaOllama.embeddings[i]) < 1e-6);
    }
    assert.ok(maxDiff(legacy.embedding, viaOllama.embeddings[1]) < 1e-6);
    assert.ok(maxDiff(viaOllama.embeddings[0], viaOllama.embeddings[1]) > 1e-3, 'two texts, one vector');
    const short = await openai.embeddings.create({ model, input: 'Hello world', dimensions: 8, encoding_format: 'float' });
    assert.equal(short.data[0].embedding.length, 8);
    assertUnit(short.data[0].embedding);
  });

  test('too long without truncate is a 400', async () => {
    const input = 'word '.repeat(50);
    await assert.rejects(ollama.embed({ model, input, truncate: false, options: { num_ctx: 16 } }), (err) => err.status_code === 400);
    const cut = await ollama.embed({ model, input, options: { num_ctx: 16 } });
    assert.equal(cut.prompt_eval_count, 16);
  });

  const bert = process.env.IR_EMBED_MODEL;
  test('tiny-bert matches llama.cpp', { skip: !bert && 'IR_EMBED_MODEL not set (../shared absent)' }, async () => {
    const ref = JSON.parse(readFileSync(process.env.IR_EMBED_REF, 'utf8'));
    const res = await ollama.embed({ model: bert, input: ref.inputs.map((x) => x.text) });
    const oai = await openai.embeddings.create({ model: bert, input: ref.inputs.map((x) => x.token_ids) });
    ref.inputs.forEach((x, i) => {
      assert.equal(res.embeddings[i].length, ref.n_embd);
      assert.ok(maxDiff(res.embeddings[i], x.embedding) <= 1e-3, `input ${i}`);
      assert.ok(maxDiff(oai.data[i].embedding, x.embedding) <= 1e-3, `input ${i} as token ids`);
    });
  });
});

describe('logprobs', () => {
  // Under greedy decoding the sampled token is the most likely one.
  function checkGreedy(content, top) {
    assert.ok(content.length > 0);
    for (const t of content) {
      assert.equal(t.top_logprobs.length, top);
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs[0].token, t.token);
      assert.equal(t.top_logprobs[0].logprob, t.logprob);
      for (const alt of t.top_logprobs) assert.ok(alt.logprob <= t.logprob);
    }
  }

  test('openai chat, streamed and not', async () => {
    const params = { model, messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: 12, logprobs: true, top_logprobs: 5 };
    const res = await openai.chat.completions.create(params);
    checkGreedy(res.choices[0].logprobs.content, 5);
    const streamed = [];
    for await (const chunk of await openai.chat.completions.create({ ...params, stream: true })) {
      for (const c of chunk.choices) if (c.logprobs) streamed.push(...c.logprobs.content);
    }
    assert.deepEqual(streamed.map((t) => t.token), res.choices[0].logprobs.content.map((t) => t.token));
  });

  test('openai completions', async () => {
    const res = await openai.completions.create({ model, prompt: 'Once upon a time', temperature: 0, max_tokens: 8, logprobs: 3 });
    const lp = res.choices[0].logprobs;
    assert.equal(lp.tokens.join(''), res.choices[0].text);
    lp.token_logprobs.forEach((v, i) => assert.equal(Math.max(...Object.values(lp.top_logprobs[i])), v));
  });

  test('ollama generate and chat', async () => {
    const res = await ollama.generate({ model, prompt: 'Once upon a time', logprobs: true, top_logprobs: 3, options: { temperature: 0, num_predict: 8 } });
    checkGreedy(res.logprobs, 3);
    assert.equal(res.logprobs.map((t) => t.token).join(''), res.response);
    const chat = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hi' }], logprobs: true, options: { temperature: 0, num_predict: 8 } });
    assert.ok(chat.logprobs.length > 0);
  });
});
