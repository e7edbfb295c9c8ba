// Decoder + KV cache + session properties on tiny random Phi-3 models.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContextLengthError, InferenceSession, InvalidArgumentError, WeightsFormatError } from '../src/index.ts';
import { phi3ModelFrom, randomPhi3Model, randomPhi3RawConfig, randomPhi3Tensors, randomTokens } from './helpers/random-phi3.ts';
import { maxAbsDiff } from '../src/verify/compare.ts';

const V = 64;

/** Logits of one full causal forward. @returns [T, V] */
function fullForward(model: ReturnType<typeof randomPhi3Model>, tokens: number[]): Float32Array {
  return model.forward(tokens, model.createCache(tokens.length), { allLogits: true });
}

describe('incremental decoding with the KV cache', () => {
  it('equals one full forward for any chunking (GQA, sliding window, below the LongRoPE switch)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 1e6 }),
          kvHeads: fc.constantFrom(1, 2, 4),
          window: fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }),
          n: fc.integer({ min: 2, max: 20 }),
          cuts: fc.array(fc.integer({ min: 1, max: 19 }), { maxLength: 6 }),
        }),
        ({ seed, kvHeads, window, n, cuts }) => {
          const model = randomPhi3Model({ seed, kvHeads, slidingWindow: window, originalMax: 32, maxPositions: 64 });
          const tokens = randomTokens(n, V, seed);
          const expected = fullForward(model, tokens);
          const session = new InferenceSession(model);
          const bounds = [...new Set([0, ...cuts.filter((c) => c < n), n])].sort((a, b) => a - b);
          for (let b = 1; b < bounds.length; b++) {
            const chunk = tokens.slice(bounds[b - 1], bounds[b]);
            const got = session.feed(chunk, { allLogits: true });
            const want = expected.subarray(bounds[b - 1] * V, bounds[b] * V);
            expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
          }
          expect(session.length).toBe(n);
        },
      ),
      { seed: 42, numRuns: 40 },
    );
  });

  it('crossing original_max rebuilds the cache: each step equals a full recompute (Phi-3 policy)', () => {
    const model = randomPhi3Model({ seed: 7, originalMax: 8, maxPositions: 64 });
    const tokens = randomTokens(14, V, 3);
    const session = new InferenceSession(model);
    session.feed(tokens.slice(0, 5));
    for (let n = 6; n <= tokens.length; n++) {
      const got = session.feed([tokens[n - 1]]);
      const full = fullForward(model, tokens.slice(0, n));
      expect(maxAbsDiff(got, full.subarray((n - 1) * V))).toBeLessThan(1e-4);
    }
    // Without the rebuild (plain forwards on one cache) the short-rotated keys stay and logits differ.
    const cache = model.createCache(64);
    model.forward(tokens.slice(0, 8), cache);
    const stale = model.forward([tokens[8]], cache);
    expect(maxAbsDiff(stale, fullForward(model, tokens.slice(0, 9)).subarray(8 * V))).toBeGreaterThan(1e-3);
  });

  it('a multi-token feed that crosses the switch returns the new tokens\' logits of the full recompute', () => {
    const model = randomPhi3Model({ seed: 11, originalMax: 8, maxPositions: 64 });
    const tokens = randomTokens(12, V, 5);
    const session = new InferenceSession(model);
    session.feed(tokens.slice(0, 6));
    const got = session.feed(tokens.slice(6), { allLogits: true });
    expect(maxAbsDiff(got, fullForward(model, tokens).subarray(6 * V))).toBeLessThan(1e-4);
  });
});

describe('caller-supplied embeddings (vision)', () => {
  it('are kept for the LongRoPE rebuild: the result equals one full forward over the same embeddings', () => {
    const model = randomPhi3Model({ seed: 21, originalMax: 8, maxPositions: 64 });
    const D = 32;
    const tokens = randomTokens(11, V, 8);
    const embeddings = model.decoder.embed(tokens);
    for (let i = 0; i < 4 * D; i++) embeddings[D + i] = Math.sin(i); // rows 1..4 are not token embeddings
    const s = new InferenceSession(model);
    s.feed(tokens.slice(0, 6), { embeddings: embeddings.slice(0, 6 * D) });
    s.feed(tokens.slice(6, 8));
    const got = s.feed(tokens.slice(8), { allLogits: true }); // crosses 8 → rebuild from the stored embeddings
    const full = model.forward(tokens, model.createCache(11), { allLogits: true, embeddings });
    expect(maxAbsDiff(got, full.subarray(8 * V))).toBeLessThan(1e-4);
    expect(() => s.feed([1], { embeddings: new Float32Array(3) })).toThrow(InvalidArgumentError);
  });

  it('truncate keeps the part of a run before the cut: a later rebuild still uses it', () => {
    const model = randomPhi3Model({ seed: 22, originalMax: 8, maxPositions: 64 });
    const D = 32;
    const tokens = randomTokens(11, V, 9);
    const custom = model.decoder.embed(tokens.slice(0, 6));
    for (let i = 0; i < 4 * D; i++) custom[D + i] = Math.cos(i); // rows 1..4 are not token embeddings
    const s = new InferenceSession(model);
    s.feed(tokens.slice(0, 6), { embeddings: custom });
    s.feed(tokens.slice(6)); // 11 > 8: rebuilt with long factors
    s.truncate(3); // back below the switch: recomputed from rows 0..2 (rows 1, 2 custom)
    const more = randomTokens(7, V, 10);
    const got = s.feed(more, { allLogits: true }); // 10 > 8 again: rebuilt from the kept rows
    const ids = [...tokens.slice(0, 3), ...more];
    const embeddings = model.decoder.embed(ids);
    embeddings.set(custom.subarray(0, 3 * D));
    const full = model.forward(ids, model.createCache(10), { allLogits: true, embeddings });
    expect(maxAbsDiff(got, full.subarray(3 * V))).toBeLessThan(1e-4);
    expect(s.tokens).toEqual(ids);
  });
});

describe('InferenceSession.truncate', () => {
  it('leaves the same state as feeding the kept prefix afresh, also across the LongRoPE switch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 15 }), (seed, n, keepRaw) => {
        const keep = Math.min(keepRaw, n - 1);
        const model = randomPhi3Model({ seed, originalMax: 8, maxPositions: 32 });
        const tokens = randomTokens(n, V, seed);
        const next = randomTokens(2, V, seed + 1);
        const s = new InferenceSession(model);
        s.feed(tokens.slice(0, 3));
        if (n > 3) s.feed(tokens.slice(3));
        s.truncate(keep);
        expect(s.tokens).toEqual(tokens.slice(0, keep));
        const fresh = new InferenceSession(model);
        fresh.feed(tokens.slice(0, keep));
        expect(maxAbsDiff(s.feed(next, { allLogits: true }), fresh.feed(next, { allLogits: true }))).toBeLessThan(1e-4);
      }),
      { seed: 5, numRuns: 30 },
    );
  });
});

describe('grouped-query attention', () => {
  it('with kv heads replicated per group equals multi-head attention', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(1, 2), (seed, kvHeads) => {
        const H = 4;
        const rawGqa = randomPhi3RawConfig({ seed, kvHeads });
        const gqa = randomPhi3Tensors(rawGqa, seed);
        const Dh = 32 / H;
        // MHA twin: qkv rows [Q; K_g(h) for each h; V_g(h) for each h], everything else identical.
        const mha = gqa.map(([name, shape, data]): [string, number[], Float32Array] => {
          if (!name.endsWith('qkv_proj.weight')) return [name, shape, data];
          const D = shape[1];
          const rows: Float32Array[] = [];
          const row = (r: number) => data.subarray(r * D, (r + 1) * D);
          for (let r = 0; r < H * Dh; r++) rows.push(row(r));
          for (const base of [H * Dh, H * Dh + kvHeads * Dh]) {
            for (let h = 0; h < H; h++) {
              const g = Math.floor(h / (H / kvHeads));
              for (let d = 0; d < Dh; d++) rows.push(row(base + g * Dh + d));
            }
          }
          const out = new Float32Array(rows.length * D);
          rows.forEach((r, i) => out.set(r, i * D));
          return [name, [rows.length, D], out];
        });
        const tokens = randomTokens(9, V, seed + 1);
        const a = fullForward(phi3ModelFrom(rawGqa, gqa), tokens);
        const b = fullForward(phi3ModelFrom({ ...rawGqa, num_key_value_heads: H }, mha), tokens);
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      }),
      { seed: 7, numRuns: 10 },
    );
  });
});

describe('session errors and tied heads', () => {
  const model = randomPhi3Model({ seed: 1, maxPositions: 16 });

  it('rejects empty feeds and out-of-vocabulary ids with InvalidArgumentError', () => {
    const s = new InferenceSession(model);
    expect(() => s.feed([])).toThrow(InvalidArgumentError);
    expect(() => s.feed([V])).toThrow(/outside the vocabulary/);
    expect(() => s.feed([-1])).toThrow(InvalidArgumentError);
    expect(s.length).toBe(0);
  });

  it('throws ContextLengthError past maxTokens and keeps the sequence intact', () => {
    const s = new InferenceSession(model, { maxTokens: 6 });
    const first = s.feed([1, 2, 3, 4]);
    expect(() => s.feed([5, 6, 7])).toThrow(ContextLengthError);
    expect(s.length).toBe(4);
    const again = new InferenceSession(model, { maxTokens: 6 });
    expect(maxAbsDiff(again.feed([1, 2, 3, 4]), first)).toBe(0);
  });

  it('ties lm_head to embed_tokens only when the config says so and the head is absent', () => {
    const raw = randomPhi3RawConfig({ seed: 3 });
    const tensors = randomPhi3Tensors(raw, 3).filter(([n]) => n !== 'lm_head.weight');
    expect(() => phi3ModelFrom(raw, tensors)).toThrow(WeightsFormatError);
    const tied = phi3ModelFrom({ ...raw, tie_word_embeddings: true }, tensors);
    const embed = tensors.find(([n]) => n === 'model.embed_tokens.weight')![2];
    const withHead = phi3ModelFrom(raw, [...tensors, ['lm_head.weight', [V, 32], embed]]);
    const tokens = randomTokens(5, V, 9);
    expect(maxAbsDiff(fullForward(tied, tokens), fullForward(withHead, tokens))).toBe(0);
  });
});
