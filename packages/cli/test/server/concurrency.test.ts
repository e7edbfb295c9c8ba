// 20 concurrent streaming requests (chat and completions, each with its own seed and settings)
// against `phi3 serve --parallel 4`: every one completes, no more than 4 run at once, the rest
// queue, and each text equals what `phi3 generate` gives alone — so interleaved generations never
// touch each other's KV caches. Two cases are also checked against a real `phi3 generate` process.
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.ts';
import { DEFAULT_MODEL_ID, referenceGeneration, startServer, waitForHealth, type HealthBody, type RunningServer, type Settings } from './harness.ts';

const PARALLEL = 4;
const REQUESTS = 20;
const PROMPTS = ['ROMEO:', 'JULIET:\nO Romeo,', 'First Citizen:', 'To be, or not', 'KING RICHARD III:', 'Now is the winter'];

let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startServer(['--parallel', String(PARALLEL)]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  expect(server.alive()).toBe(true);
  expect(await server.stop()).toBe(0);
});

interface Case {
  readonly format: 'chat' | 'raw';
  readonly prompt: string;
  readonly settings: Settings;
}

const CASES: Case[] = Array.from({ length: REQUESTS }, (_, i) => ({
  format: i % 2 === 0 ? 'chat' : 'raw',
  prompt: PROMPTS[i % PROMPTS.length],
  settings: { maxTokens: 4 + (i % 4) * 2, temperature: [0, 0.7, 1, 1.3][i % 4], topP: i % 3 === 0 ? 0.9 : 1, seed: 1000 + i },
}));

interface Outcome {
  text: string;
  finish: string | null;
  firstTokenMs: number;
  totalMs: number;
}

/** One streaming request through the official client; collects the text and timings. */
async function streamCase(c: Case, t0: number): Promise<Outcome> {
  const common = { model: DEFAULT_MODEL_ID, max_tokens: c.settings.maxTokens, temperature: c.settings.temperature, top_p: c.settings.topP, seed: c.settings.seed, stream: true as const };
  let text = '';
  let finish: string | null = null;
  let firstTokenMs = -1;
  const take = (delta: string | null | undefined, reason: string | null): void => {
    if (delta && firstTokenMs < 0) firstTokenMs = performance.now() - t0;
    text += delta ?? '';
    finish = reason ?? finish;
  };
  if (c.format === 'chat') {
    for await (const chunk of await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: c.prompt }] })) {
      take(chunk.choices[0]?.delta.content, chunk.choices[0]?.finish_reason ?? null);
    }
  } else {
    for await (const chunk of await client.completions.create({ ...common, prompt: c.prompt })) take(chunk.choices[0]?.text, chunk.choices[0]?.finish_reason ?? null);
  }
  return { text, finish, firstTokenMs, totalMs: performance.now() - t0 };
}

test(`${REQUESTS} concurrent streams: all complete, at most ${PARALLEL} at once, each equals phi3 generate`, async () => {
  const before = await waitForHealth(server.url, (h) => h.busy === 0);
  let maxBusy = 0;
  let maxQueued = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const h = (await (await fetch(`${server.url}/health`)).json()) as HealthBody;
      maxBusy = Math.max(maxBusy, h.busy);
      maxQueued = Math.max(maxQueued, h.queued);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const t0 = performance.now();
  const outcomes = await Promise.all(CASES.map((c) => streamCase(c, t0)));
  const wallMs = performance.now() - t0;
  polling = false;
  await poll;

  const after = await waitForHealth(server.url, (h) => h.busy === 0);
  expect(after.completed - before.completed).toBe(REQUESTS);
  expect(after.aborted).toBe(before.aborted);
  expect(maxBusy).toBe(PARALLEL);
  expect(maxQueued).toBeGreaterThan(0);

  let generated = 0;
  for (const [i, c] of CASES.entries()) {
    const expected = await referenceGeneration(c.format, c.prompt, c.settings);
    expect(outcomes[i].text, `request ${i} (${c.format} ${JSON.stringify(c.prompt)} seed ${c.settings.seed})`).toBe(expected.text);
    expect(outcomes[i].finish).toBe(expected.stopReason === 'length' ? 'length' : 'stop');
    generated += expected.generatedTokens;
  }

  const latencies = outcomes.map((o) => o.totalMs).sort((a, b) => a - b);
  const ttfts = outcomes.map((o) => o.firstTokenMs).sort((a, b) => a - b);
  const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)];
  console.info(
    `serve: ${REQUESTS} concurrent streams, --parallel ${PARALLEL}: wall ${(wallMs / 1000).toFixed(2)} s, ` +
    `${(REQUESTS / (wallMs / 1000)).toFixed(1)} req/s, ${(generated / (wallMs / 1000)).toFixed(0)} generated tok/s; ` +
    `latency median ${median(latencies).toFixed(0)} ms / max ${latencies.at(-1)!.toFixed(0)} ms; ` +
    `first token median ${median(ttfts).toFixed(0)} ms / max ${ttfts.at(-1)!.toFixed(0)} ms; max busy ${maxBusy}, max queued ${maxQueued}`,
  );
});

test('the same requests through a real `phi3 generate` process print the same text', async () => {
  for (const c of [CASES[1], CASES[2]]) {
    const s = c.settings;
    const [server, cli] = await Promise.all([
      streamCase(c, performance.now()),
      runCli(['generate', c.format === 'chat' ? '--chat' : '--raw', '-p', c.prompt, '-n', String(s.maxTokens),
        '--temp', String(s.temperature), '--top-p', String(s.topP), '-s', String(s.seed)]),
    ]);
    expect(cli.code).toBe(0);
    expect(server.text.length).toBeGreaterThan(0);
    expect(server.text).toBe(cli.stdout);
  }
});
