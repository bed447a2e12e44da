// Black-box tests of `ir serve` with the official OpenAI and Ollama
// clients. run.sh starts the server and sets IR_URL and IR_MODEL.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const url = process.env.IR_URL;
const model = process.env.IR_MODEL;
if (!url || !model) {
  throw new Error('IR_URL and IR_MODEL must be set (use e2e/api/run.sh)');
}

// maxRetries 0: a refusal must surface, not be retried away.
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
const ollama = new Ollama({ host: url });

// A stop sequence taken from the middle of a text, and the text before it.
function stopFrom(text) {
  const chars = [...text];
  assert.ok(chars.length >= 8, `text too short to pick a stop sequence: ${JSON.stringify(text)}`);
  const stop = chars.slice(Math.floor(chars.length / 2), Math.floor(chars.length / 2) + 2).join('');
  return { stop, before: text.slice(0, text.indexOf(stop)) };
}

describe('openai client', () => {
  test('lists the model', async () => {
    const list = await openai.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes(model), `models: ${ids}`);
    const one = await openai.models.retrieve(model);
    assert.equal(one.id, model);
  });

  test('chat completion, streaming and not, with usage', async () => {
    const params = {
      model,
      messages: [{ role: 'system', content: 'You tell short stories.' }, { role: 'user', content: 'Tell me a story.' }],
      temperature: 0,
      seed: 42,
      max_tokens: 24,
    };
    const res = await openai.chat.completions.create(params);
    const choice = res.choices[0];
    assert.equal(res.object, 'chat.completion');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    assert.ok(['stop', 'length'].includes(choice.finish_reason));
    assert.ok(res.usage.prompt_tokens > 0);
    assert.ok(res.usage.completion_tokens > 0 && res.usage.completion_tokens <= 24);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    if (choice.finish_reason === 'length') assert.equal(res.usage.completion_tokens, 24);

    const stream = await openai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(text, choice.message.content);
    assert.equal(finish, choice.finish_reason);
    // The same prompt again: all of it but the last token comes from the
    // prefix cache, and usage says so.
    const { prompt_tokens_details: cachedAgain, ...countsAgain } = usage;
    const { prompt_tokens_details: cachedFirst, ...counts } = res.usage;
    assert.deepEqual(countsAgain, counts);
    assert.ok(cachedFirst.cached_tokens <= res.usage.prompt_tokens, `first request: ${JSON.stringify(res.usage)}`);
    assert.equal(cachedAgain.cached_tokens, res.usage.prompt_tokens - 1);
  });

  test('text completion, streaming and not', async () => {
    const params = { model, prompt: 'Once upon a time', temperature: 0, max_tokens: 20 };
    const res = await openai.completions.create(params);
    assert.equal(res.object, 'text_completion');
    assert.ok(res.choices[0].text.length > 0);
    assert.equal(res.usage.completion_tokens, res.choices[0].finish_reason === 'length' ? 20 : res.usage.completion_tokens);
    const stream = await openai.completions.create({ ...params, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, res.choices[0].text);
  });

  test('stop sequences end the reply before them', async () => {
    const params = { model, prompt: 'Once upon a time', temperature: 0, max_tokens: 40 };
    const full = (await openai.completions.create(params)).choices[0].text;
    const { stop, before } = stopFrom(full);
    const res = await openai.completions.create({ ...params, stop: [stop] });
    assert.equal(res.choices[0].text, before);
    assert.equal(res.choices[0].finish_reason, 'stop');
    const chat = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 40 });
    const c = stopFrom(chat.choices[0].message.content);
    const stopped = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 40, stop: c.stop });
    assert.equal(stopped.choices[0].message.content, c.before);
  });

  test('unknown model is a 404 NotFoundError', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.NotFoundError && err.status === 404 && err.code === 'model_not_found',
    );
  });

  test('invalid parameter is a 400 naming it', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
      (err) => err instanceof OpenAI.BadRequestError && /temperature/.test(err.message),
    );
  });
});

describe('ollama client', () => {
  test('lists, shows and reports the loaded model', async () => {
    const list = await ollama.list();
    assert.ok(list.models.some((m) => m.name === model), JSON.stringify(list));
    const show = await ollama.show({ model });
    assert.equal(show.details.format, 'gguf');
    await ollama.generate({ model, prompt: 'Hello', options: { num_predict: 2 } });
    const ps = await ollama.ps();
    assert.ok(ps.models.some((m) => m.name === model), JSON.stringify(ps));
  });

  test('generate, streaming and not, with counts', async () => {
    const params = { model, prompt: 'Once upon a time', options: { temperature: 0, num_predict: 16 } };
    const res = await ollama.generate(params);
    assert.equal(res.done, true);
    assert.ok(res.response.length > 0);
    assert.ok(res.prompt_eval_count > 0);
    assert.ok(res.eval_count > 0 && res.eval_count <= 16);
    if (res.done_reason === 'length') assert.equal(res.eval_count, 16);
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
      assert.equal(typeof res[k], 'number', k);
    }
    let text = '';
    let last = null;
    for await (const part of await ollama.generate({ ...params, stream: true })) {
      text += part.response;
      last = part;
    }
    assert.equal(text, res.response);
    assert.equal(last.done, true);
    assert.equal(last.eval_count, res.eval_count);
    assert.equal(last.prompt_eval_count, res.prompt_eval_count);
  });

  test('chat, streaming and not', async () => {
    const params = { model, messages: [{ role: 'user', content: 'Tell me a story.' }], options: { temperature: 0, num_predict: 16 } };
    const res = await ollama.chat(params);
    assert.equal(res.message.role, 'assistant');
    assert.ok(res.eval_count > 0);
    let text = '';
    for await (const part of await ollama.chat({ ...params, stream: true })) text += part.message.content;
    assert.equal(text, res.message.content);
  });

  test('stop sequences', async () => {
    const params = { model, prompt: 'Once upon a time', options: { temperature: 0, num_predict: 40 } };
    const full = (await ollama.generate(params)).response;
    const { stop, before } = stopFrom(full);
    const res = await ollama.generate({ ...params, options: { ...params.options, stop: [stop] } });
    assert.equal(res.response, before);
    assert.equal(res.done_reason, 'stop');
  });

  test('unknown model is a 404 error', async () => {
    await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x' }), (err) => err.status_code === 404 && /not found/.test(err.message));
    await assert.rejects(ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }], stream: true }), (err) => err.status_code === 404);
  });
});

// Tool calls and structured outputs hold for any model, random weights
// included: the grammar guarantees them.
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 20 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
      additionalProperties: false,
    },
  },
};

function checkWeatherCall(call) {
  assert.equal(call.type, 'function');
  assert.ok(call.id, 'the call has an id');
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.deepEqual(Object.keys(args).sort(), ['city', 'days']);
  assert.equal(typeof args.city, 'string');
  assert.ok([...args.city].length <= 20, `city ${args.city}`);
  assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, `days ${args.days}`);
}

describe('tools and structured outputs', () => {
  const base = {
    model,
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [weatherTool],
    tool_choice: 'required',
    max_tokens: 150,
    seed: 7,
  };

  test('tool_choice required returns a valid call', async () => {
    const res = await openai.chat.completions.create(base);
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    checkWeatherCall(choice.message.tool_calls[0]);
  });

  test('tool_choice required, streamed, returns a valid call', async () => {
    const stream = await openai.chat.completions.create({ ...base, stream: true });
    const calls = [];
    let finish = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      if (c.finish_reason) finish = c.finish_reason;
      for (const d of c.delta.tool_calls ?? []) {
        calls[d.index] ??= { id: '', type: '', function: { name: '', arguments: '' } };
        const call = calls[d.index];
        if (d.id) call.id = d.id;
        if (d.type) call.type = d.type;
        if (d.function?.name) call.function.name += d.function.name;
        if (d.function?.arguments) call.function.arguments += d.function.arguments;
      }
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(calls.length, 1);
    checkWeatherCall(calls[0]);
    // The client's own accumulator agrees.
    const final = await openai.chat.completions.stream({ ...base }).finalChatCompletion();
    checkWeatherCall(final.choices[0].message.tool_calls[0]);
  });

  test('a json_schema response parses and validates', async () => {
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string', maxLength: 30 },
        rating: { type: 'integer', minimum: 1, maximum: 5 },
        tags: { type: 'array', items: { enum: ['fun', 'sad'] }, maxItems: 3 },
        published: { type: 'string', format: 'date' },
      },
      required: ['title', 'rating', 'tags', 'published'],
      additionalProperties: false,
    };
    const res = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Review a book.' }],
      max_tokens: 200,
      response_format: { type: 'json_schema', json_schema: { name: 'review', schema, strict: true } },
    });
    const v = JSON.parse(res.choices[0].message.content);
    assert.deepEqual(Object.keys(v).sort(), ['published', 'rating', 'tags', 'title']);
    assert.ok(typeof v.title === 'string' && [...v.title].length <= 30);
    assert.ok(Number.isInteger(v.rating) && v.rating >= 1 && v.rating <= 5);
    assert.ok(Array.isArray(v.tags) && v.tags.length <= 3 && v.tags.every((t) => t === 'fun' || t === 'sad'));
    assert.match(v.published, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(!Number.isNaN(Date.parse(v.published)));

    // Ollama's format with the same schema.
    const o = await ollama.chat({ model, messages: [{ role: 'user', content: 'Review a book.' }], format: schema, options: { num_predict: 200 } });
    const w = JSON.parse(o.message.content);
    assert.deepEqual(Object.keys(w).sort(), ['published', 'rating', 'tags', 'title']);
  });

  test('malformed tools and schemas are 400s naming the problem', async () => {
    await assert.rejects(
      openai.chat.completions.create({ ...base, tools: [{ type: 'function', function: { name: 'bad name' } }] }),
      (e) => e.status === 400 && /tools\[0\]\.function\.name/.test(e.message),
    );
    await assert.rejects(
      openai.chat.completions.create({
        model,
        messages: base.messages,
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } },
      }),
      (e) => e.status === 400 && /pattern/.test(e.message),
    );
  });
});

describe('custom models (ollama create)', () => {
  const base = process.env.IR_LORA_BASE;
  const loraFile = process.env.IR_LORA_FILE;

  test('create from a base with an uploaded adapter, then chat with it', { skip: !base || !loraFile ? 'IR_LORA_BASE and IR_LORA_FILE are not set (use e2e/api/run.sh)' : false }, async () => {
    const { readFile } = await import('node:fs/promises');
    const { createHash } = await import('node:crypto');
    const bytes = await readFile(loraFile);
    const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');

    // The blob protocol ollama's CLI uses: HEAD, then POST the bytes.
    assert.equal((await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' })).status, 404);
    const bad = await fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: bytes.subarray(1) });
    assert.equal(bad.status, 400, 'bytes that do not match their digest are refused');
    const up = await fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: bytes });
    assert.equal(up.status, 201);
    assert.equal((await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' })).status, 200);

    const name = 'e2e-custom';
    const progress = [];
    for await (const p of await ollama.create({
      model: name, from: base, adapters: { 'lora.gguf': digest }, stream: true,
      system: 'You are a terse assistant.', parameters: { temperature: 0, num_predict: 6, seed: 1 },
      messages: [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi.' }], license: 'MIT',
    })) {
      progress.push(p.status);
    }
    assert.equal(progress.at(-1), 'success');

    const shown = await ollama.show({ model: name });
    assert.match(shown.modelfile, /^FROM e2e-lora-base$/m);
    assert.match(shown.modelfile, /^ADAPTER /m);
    assert.match(shown.parameters, /num_predict 6/);
    assert.equal(shown.system, 'You are a terse assistant.');

    const res = await ollama.chat({ model: name, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    assert.equal(typeof res.message.content, 'string');
    assert.ok(res.eval_count > 0 && res.eval_count <= 6, `eval_count ${res.eval_count}: the model's num_predict is 6`);
    // The adapter is applied: the base alone, greedy, replies otherwise to the same prompt.
    const plain = await ollama.chat({ model: base, messages: [{ role: 'system', content: 'You are a terse assistant.' }, { role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi.' }, { role: 'user', content: 'Tell me a story.' }], options: { temperature: 0, num_predict: 6, seed: 1 } });
    assert.notEqual(plain.message.content, res.message.content, 'the adapter changed nothing');

    const list = await ollama.list();
    assert.ok(list.models.some((m) => m.name === name));
    await assert.rejects(ollama.create({ model: 'e2e-broken', from: base, adapters: { 'x.gguf': 'sha256:' + '0'.repeat(64) } }), /missing/);
    await ollama.delete({ model: name });
  });
});
