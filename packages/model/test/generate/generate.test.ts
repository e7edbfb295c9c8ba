import { describe, expect, test } from 'vitest';
import { createContinuationStream, generate, type GenerateRequest, type GenerationStep, type LogitsSession, type TextStream } from '../../src/generate/generate.ts';
import { DEFAULT_SAMPLING } from '../../src/generate/sampling.ts';
import { ContextLengthError, InvalidArgumentError } from '../../src/errors.ts';

const V = 8;
/**
 * A scripted session: after the sequence so far, the most likely next token is `script(seq)`.
 * It records what was fed so the tests can check the cache contents.
 */
function scriptedSession(script: (seq: number[]) => number): LogitsSession & { fed: number[] } {
  const fed: number[] = [];
  return {
    fed,
    feed(tokens) {
      fed.push(...tokens);
      const logits = new Float32Array(V).fill(1);
      logits[script(fed)] = 10;
      return logits;
    },
  };
}
/** Token i prints as letter 'a' + i; token 7 is a multi-token character: pending until the next token. */
function letters(): TextStream {
  let pending = '';
  return {
    push(t) {
      if (t === 7) { pending += '~'; return ''; }
      const out = pending + String.fromCharCode(97 + t);
      pending = '';
      return out;
    },
    flush() { const p = pending; pending = ''; return p; },
  };
}
const base: GenerateRequest = {
  promptIds: [0], maxNewTokens: 5, contextLength: 64, sampling: DEFAULT_SAMPLING, eosIds: new Set([6]),
};
async function collect(session: LogitsSession, req: GenerateRequest): Promise<GenerationStep[]> {
  const steps: GenerationStep[] = [];
  for await (const s of generate(session, letters(), req)) steps.push(s);
  return steps;
}
const textOf = (steps: GenerationStep[]): string => steps.map((s) => s.text).join('');

describe('generate', () => {
  test('greedy: streams max-new-tokens tokens, feeding each one back except the last', async () => {
    const session = scriptedSession((seq) => (seq.at(-1)! + 1) % 5); // 0 → 1 → 2 → 3 → 4 → 0
    const steps = await collect(session, base);
    expect(steps.map((s) => s.token)).toEqual([1, 2, 3, 4, 0]);
    expect(textOf(steps)).toBe('bcdea');
    expect(session.fed).toEqual([0, 1, 2, 3, 4]);
    expect(steps.at(-1)!.stats).toMatchObject({ promptTokens: 1, generatedTokens: 5, stopReason: 'length' });
    expect(steps.slice(0, -1).every((s) => s.stats.stopReason === null)).toBe(true);
  });

  test('an EOS id ends generation and is not printed; --ignore-eos prints it and goes on', async () => {
    const script = (seq: number[]): number => (seq.length === 2 ? 6 : 1);
    const stopped = await collect(scriptedSession(script), base);
    expect(stopped.map((s) => s.token)).toEqual([1, 6]);
    expect(textOf(stopped)).toBe('b');
    expect(stopped.at(-1)!.stats.stopReason).toBe('eos');
    const ignored = await collect(scriptedSession(script), { ...base, ignoreEos: true });
    expect(ignored.map((s) => s.token)).toEqual([1, 6, 1, 1, 1]);
    expect(textOf(ignored)).toBe('bgbbb');
  });

  test('stop strings cut the text and end generation', async () => {
    const steps = await collect(scriptedSession((seq) => seq.length % 4), { ...base, maxNewTokens: 20, stop: ['cd'] });
    expect(textOf(steps)).toBe('b');
    expect(steps.at(-1)!.stats.stopReason).toBe('stop');
  });

  test('text held back by the detokenizer is flushed at the end, and can still complete a stop string', async () => {
    const steps = await collect(scriptedSession(() => 7), { ...base, maxNewTokens: 2 });
    expect(textOf(steps)).toBe('~~');
    const stopped = await collect(scriptedSession(() => 7), { ...base, maxNewTokens: 2, stop: ['~~'] });
    expect(textOf(stopped)).toBe('');
    expect(stopped.at(-1)!.stats.stopReason).toBe('stop');
  });

  test('history counts toward the context and the repetition window; only the prompt is fed', async () => {
    const session = scriptedSession(() => 3);
    const steps = await collect(session, {
      ...base, history: [3, 3], promptIds: [1], maxNewTokens: 1,
      sampling: { ...DEFAULT_SAMPLING, repetitionPenalty: 1e6 },
    });
    expect(session.fed).toEqual([1]);
    expect(steps[0].token).not.toBe(3); // penalized because it is in the history
  });

  test('more tokens than the context holds: stops when full with stopReason "context"', async () => {
    const session = scriptedSession(() => 1);
    const steps = await collect(session, { ...base, promptIds: [0, 0, 0], contextLength: 6, maxNewTokens: 100 });
    expect(steps).toHaveLength(3);
    expect(steps.at(-1)!.stats.stopReason).toBe('context');
    expect(session.fed.length).toBeLessThanOrEqual(6);
  });

  test('a prompt that fills the context → ContextLengthError; bad requests → InvalidArgumentError', async () => {
    const session = scriptedSession(() => 1);
    await expect(collect(session, { ...base, promptIds: [0, 0, 0, 0], contextLength: 4 })).rejects.toThrow(ContextLengthError);
    await expect(collect(session, { ...base, maxNewTokens: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(collect(session, { ...base, promptIds: [] })).rejects.toThrow(InvalidArgumentError);
    await expect(collect(session, { ...base, sampling: { ...DEFAULT_SAMPLING, topP: 0 } })).rejects.toThrow(InvalidArgumentError);
  });

  test('an aborted signal ends the stream between tokens', async () => {
    const controller = new AbortController();
    const steps: GenerationStep[] = [];
    for await (const s of generate(scriptedSession(() => 1), letters(), { ...base, maxNewTokens: 50, signal: controller.signal })) {
      steps.push(s);
      if (steps.length === 3) controller.abort();
    }
    expect(steps).toHaveLength(3);
  });

  test('same seed → same sampled tokens', async () => {
    const noisy: LogitsSession = { feed: (t) => Float32Array.from({ length: V }, (_, i) => Math.sin(i * 7 + t.length)) };
    const req = { ...base, maxNewTokens: 12, sampling: { ...DEFAULT_SAMPLING, temperature: 1.5, seed: 42 }, eosIds: new Set<number>() };
    const a = (await collect(noisy, req)).map((s) => s.token);
    const b = (await collect(noisy, req)).map((s) => s.token);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(1);
  });
});

describe('generate on the Shakespeare model (real weights, tokenizer and session)', async () => {
  const { loadModel } = await import('../../src/model.ts');
  const { InferenceSession } = await import('../../src/session.ts');
  const { loadTokenizer } = await import('../../src/tokenizer/index.ts');
  const { readFileSync } = await import('node:fs');
  const dir = new URL('../../../../fixtures/phi3-shakespeare-tiny/', import.meta.url).pathname;
  const reference = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as { generate: { prompt_ids: number[]; expected_ids: number[] }[] };
  const model = loadModel(dir);
  const tokenizer = loadTokenizer(dir);

  test('greedy tokens equal the HF reference; the streamed text equals one-shot decode', async () => {
    const { prompt_ids, expected_ids } = reference.generate[0];
    const steps: GenerationStep[] = [];
    for await (const s of generate(new InferenceSession(model), tokenizer.createStreamDecoder(), {
      promptIds: prompt_ids, maxNewTokens: expected_ids.length, contextLength: model.config.maxPositionEmbeddings,
      sampling: DEFAULT_SAMPLING, eosIds: new Set(tokenizer.stopIds),
    })) steps.push(s);
    expect(steps.map((s) => s.token)).toEqual(expected_ids);
    expect(textOf(steps)).toBe(tokenizer.decode(expected_ids));
    expect(steps.at(-1)!.stats).toMatchObject({ promptTokens: prompt_ids.length, generatedTokens: expected_ids.length, stopReason: 'length' });
  });

  test('createContinuationStream prints decode(prompt + generated) − decode(prompt): a first ▁word keeps its space', async () => {
    const promptIds = tokenizer.encode('ROMEO: I will', { addBos: true });
    const generated = [...tokenizer.encode('not, I will'), tokenizer.eosId]; // ▁not , ▁I ▁will, then a control token
    const stream = createContinuationStream(tokenizer, promptIds);
    expect(generated.map((id) => stream.push(id)).join('') + stream.flush()).toBe(' not, I will');
    // In chat the shown ids end with control tokens: still the continuation of the visible text.
    const chatIds = tokenizer.encode('<|user|>\nHi<|end|>\n<|assistant|>\n');
    const reply = createContinuationStream(tokenizer, chatIds);
    const replyIds = tokenizer.encode('Hello');
    const expected = tokenizer.decode([...chatIds, ...replyIds], { skipSpecial: true }).slice(tokenizer.decode(chatIds, { skipSpecial: true }).length);
    expect(replyIds.map((id) => reply.push(id)).join('') + reply.flush()).toBe(expected);
  });

  test('sampling with a seed is reproducible through the whole stack', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const out: number[] = [];
      for await (const s of generate(new InferenceSession(model), tokenizer.createStreamDecoder(), {
        promptIds: reference.generate[0].prompt_ids, maxNewTokens: 16, contextLength: 512,
        sampling: { ...DEFAULT_SAMPLING, temperature: 0.8, topK: 50, topP: 0.95, seed }, eosIds: new Set(tokenizer.stopIds),
      })) out.push(s.token);
      return out;
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
  });
});
