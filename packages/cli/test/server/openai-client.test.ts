// `phi3 serve` driven by the official `openai` npm client: chat and text completions (plain and
// streamed) equal what `phi3 generate` gives for the same prompt and settings; stop sequences;
// usage; the API key; errors surface as the client's typed errors.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_MODEL_ID, referenceGeneration, startServer, type RunningServer } from './harness.ts';

const API_KEY = 'test-key-123';
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer(['--api-key', API_KEY, '--parallel', '2']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(async () => {
  expect(server.alive()).toBe(true); // nothing below crashed it
  expect(server.stderr()).not.toMatch(/internal error/);
  expect(await server.stop()).toBe(0);
});

const SETTINGS = { maxTokens: 12, temperature: 0.8, topP: 0.95, seed: 7 };

describe('models and health', () => {
  test('GET /v1/models lists the served model; retrieve finds it', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([DEFAULT_MODEL_ID]);
    expect((await client.models.retrieve(DEFAULT_MODEL_ID)).id).toBe(DEFAULT_MODEL_ID);
  });
  test('/health needs no key', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', model: DEFAULT_MODEL_ID, slots: 2 });
  });
});

describe('chat completions', () => {
  const prompt = 'Speak of the king.';

  test('non-streaming: text, finish_reason and usage equal phi3 generate --chat', async () => {
    const expected = await referenceGeneration('chat', prompt, SETTINGS);
    const r = await client.chat.completions.create({
      model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: prompt }],
      max_tokens: SETTINGS.maxTokens, temperature: SETTINGS.temperature, top_p: SETTINGS.topP, seed: SETTINGS.seed,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0].message).toMatchObject({ role: 'assistant', content: expected.text });
    expect(r.choices[0].finish_reason).toBe(expected.stopReason === 'length' ? 'length' : 'stop');
    expect(r.usage).toEqual({ prompt_tokens: expected.promptTokens, completion_tokens: expected.generatedTokens, total_tokens: expected.promptTokens + expected.generatedTokens });
  });

  test('streaming: the role chunk, then deltas that join to the same text, then finish_reason and usage', async () => {
    const expected = await referenceGeneration('chat', prompt, SETTINGS);
    const stream = await client.chat.completions.create({
      model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true },
      max_tokens: SETTINGS.maxTokens, temperature: SETTINGS.temperature, top_p: SETTINGS.topP, seed: SETTINGS.seed,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(expected.text);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1); // really streamed
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finishes).toEqual(['length']);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: expected.generatedTokens, prompt_tokens: expected.promptTokens });
  });

  test('a system message and a multi-turn conversation go through the chat template', async () => {
    const r = await client.chat.completions.create({
      model: DEFAULT_MODEL_ID, max_tokens: 4, temperature: 0,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hail.' }, { role: 'user', content: 'Again' }],
    });
    // <|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHail.<|end|>\n<|user|>\nAgain<|end|>\n<|assistant|>\n
    expect(r.usage!.prompt_tokens).toBeGreaterThan(15);
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
  });
});

describe('text completions and stop sequences', () => {
  test('non-streaming completion equals phi3 generate --raw', async () => {
    const expected = await referenceGeneration('raw', 'ROMEO:', SETTINGS);
    const r = await client.completions.create({
      model: DEFAULT_MODEL_ID, prompt: 'ROMEO:', max_tokens: SETTINGS.maxTokens, temperature: SETTINGS.temperature, top_p: SETTINGS.topP, seed: SETTINGS.seed,
    });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].text).toBe(expected.text);
    expect(r.usage!.completion_tokens).toBe(expected.generatedTokens);
  });

  test('a stop string ends the text before it, with finish_reason stop (chat and completions, plain and streamed)', async () => {
    // Pick a stop string the unconstrained continuation really contains (greedy is deterministic).
    const free = await referenceGeneration('raw', 'KING HENRY:', { maxTokens: 40, temperature: 0, topP: 1, seed: 0 });
    const cut = free.text.indexOf(' ', 8);
    expect(cut).toBeGreaterThan(0);
    const stop = free.text.slice(cut, cut + 3);
    const settings = { maxTokens: 40, temperature: 0, topP: 1, seed: 0, stop: ['zzzz', stop] };
    const expected = await referenceGeneration('raw', 'KING HENRY:', settings);
    expect(expected.stopReason).toBe('stop');
    expect(expected.text).toBe(free.text.slice(0, free.text.indexOf(stop)));

    const plain = await client.completions.create({ model: DEFAULT_MODEL_ID, prompt: 'KING HENRY:', max_tokens: 40, temperature: 0, stop: settings.stop });
    expect(plain.choices[0]).toMatchObject({ text: expected.text, finish_reason: 'stop' });
    const stream = await client.completions.create({ model: DEFAULT_MODEL_ID, prompt: 'KING HENRY:', max_tokens: 40, temperature: 0, stop: stop, stream: true });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe(expected.text);
    expect(finish).toBe('stop');

    const chatFree = await referenceGeneration('chat', 'Who art thou?', { maxTokens: 30, temperature: 0, topP: 1, seed: 0 });
    const firstLine = chatFree.text.split('\n')[0];
    expect(firstLine.length).toBeGreaterThan(0);
    expect(firstLine.length).toBeLessThan(chatFree.text.length);
    const chat = await client.chat.completions.create({
      model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: 'Who art thou?' }], max_tokens: 30, temperature: 0, stop: ['\n'],
    });
    expect(chat.choices[0].message.content).toBe(firstLine);
    expect(chat.choices[0].finish_reason).toBe('stop');
  });
});

describe('errors reach the client as typed OpenAI errors', () => {
  test('401: wrong or missing API key', async () => {
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    const bare = await fetch(`${server.url}/v1/models`);
    expect(bare.status).toBe(401);
  });

  test('404: unknown model (chat, completions, retrieve)', async () => {
    const chat = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.NotFoundError);
    expect((chat as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect(await client.completions.create({ model: 'nope', prompt: 'x' }).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await client.models.retrieve('nope').catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  const badParams: [string, Record<string, unknown>, string][] = [
    ['negative temperature', { temperature: -1 }, 'temperature'],
    ['top_p above 1', { top_p: 1.5 }, 'top_p'],
    ['n = 2', { n: 2 }, 'n'],
    ['max_tokens 0', { max_tokens: 0 }, 'max_tokens'],
    ['fractional seed', { seed: 1.5 }, 'seed'],
    ['temperature as a string', { temperature: 'hot' }, 'temperature'],
    ['five stop strings', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['an empty stop string', { stop: [''] }, 'stop'],
    ['an unknown role', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    ['no messages', { messages: [] }, 'messages'],
    ['image content', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
  ];
  for (const [name, fields, param] of badParams) {
    test(`400: ${name} (param ${param})`, async () => {
      const body = { model: DEFAULT_MODEL_ID, messages: [{ role: 'user', content: 'x' }], ...fields };
      const err = await client.chat.completions.create(body as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
    });
  }

  test('400: a prompt longer than the context is context_length_exceeded (also when streaming)', async () => {
    for (const stream of [false, true]) {
      const err = await client.completions.create({ model: DEFAULT_MODEL_ID, prompt: 'ROMEO: '.repeat(300), stream }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
    }
  });
});
