// The shared decoder loop on random tiny Phi-3 configs (head dims, GQA ratios, sliding windows,
// LongRoPE below its switch): prefill-then-decode equals one full forward, and the taps report
// what the loop computed.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { maxAbsDiff } from '../src/verify/compare.ts';
import type { TapName } from '../src/decoder.ts';
import { randomPhi3Model, randomTokens } from './helpers/random-phi3.ts';

const SEED = { seed: 1129 };

const phi3Arb = fc.record({
  seed: fc.integer({ min: 1, max: 1e6 }),
  kvHeads: fc.constantFrom(1, 2, 3),
  group: fc.constantFrom(1, 2, 3), // query heads per kv head
  headDim: fc.constantFrom(2, 4, 6, 8),
  layers: fc.integer({ min: 1, max: 3 }),
  window: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
  longRope: fc.boolean(),
});

describe('forwardDecoder on random phi3 configs', () => {
  test.prop([phi3Arb, fc.integer({ min: 2, max: 24 }), fc.integer({ min: 1, max: 23 })], { ...SEED, numRuns: 30 })(
    'prefill then token-by-token decoding equals one full forward (at or below the LongRoPE switch)',
    (o, n, split) => {
      fc.pre(split < n);
      const heads = o.kvHeads * o.group;
      const model = randomPhi3Model({
        seed: o.seed, hidden: heads * o.headDim, heads, kvHeads: o.kvHeads, layers: o.layers,
        slidingWindow: o.window, maxPositions: 64, originalMax: o.longRope ? 24 : undefined,
      });
      const V = model.config.vocabSize;
      const tokens = randomTokens(n, V, o.seed + 1);
      const full = model.forward(tokens, model.createCache(n), { allLogits: true }); // [n, V]
      const cache = model.createCache(n);
      const prefill = model.forward(tokens.slice(0, split), cache, { allLogits: true });
      expect(maxAbsDiff(prefill, full.subarray(0, split * V))).toBeLessThan(1e-4);
      for (let t = split; t < n; t++) {
        expect(maxAbsDiff(model.forward([tokens[t]], cache), full.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
      }
      expect(cache.length).toBe(n);
    },
  );

  test.prop([phi3Arb, fc.integer({ min: 1, max: 8 })], { ...SEED, numRuns: 10 })(
    'taps: embeddings, one layer_output per layer, final_norm; the last tap feeds the head',
    (o, n) => {
      const heads = o.kvHeads * o.group;
      const model = randomPhi3Model({ seed: o.seed, hidden: heads * o.headDim, heads, kvHeads: o.kvHeads, layers: o.layers });
      const seen: Array<[TapName, number, number]> = [];
      const tokens = randomTokens(n, model.config.vocabSize, o.seed);
      const logits = model.forward(tokens, model.createCache(n), { tap: (name, l, data) => seen.push([name, l, data.length]) });
      const D = model.config.hiddenSize;
      expect(seen).toEqual([
        ['embeddings', -1, n * D],
        ...Array.from({ length: o.layers }, (_, l): [TapName, number, number] => ['layer_output', l, n * D]),
        ['final_norm', o.layers, n * D],
      ]);
      expect(logits.length).toBe(model.config.vocabSize); // the last token's row, taps or not
    },
  );
});
