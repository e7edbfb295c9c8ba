// attentionInto against a naive dense transcription of HF eager attention: repeat_kv, scores / sqrt(Dh),
// an explicit additive mask (causal, sliding window = W keys including itself), softmax, · V.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng, fillNormal } from '@phi3/tensor';
import { attentionInto, type AttentionMask } from '../../src/layers/attention.ts';

function naiveAttention(
  q: Float32Array, k: Float32Array, v: Float32Array, pos0: number, T: number,
  H: number, Hkv: number, Dh: number, window: number | null, allows?: (h: number, i: number, j: number) => boolean,
): Float64Array {
  const S = pos0 + T;
  const out = new Float64Array(T * H * Dh);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv)); // repeat_kv: kv head g repeated H/Hkv times consecutively
    for (let t = 0; t < T; t++) {
      const i = pos0 + t;
      const s = new Float64Array(S);
      for (let j = 0; j < S; j++) {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[(t * H + h) * Dh + d] * k[(j * Hkv + g) * Dh + d];
        const visible = j <= i && (window === null || j > i - window) && (allows === undefined || allows(h, i, j));
        s[j] = visible ? dot / Math.sqrt(Dh) : -Infinity;
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < S; j++) for (let d = 0; d < Dh; d++) out[(t * H + h) * Dh + d] += (e[j] / z) * v[(j * Hkv + g) * Dh + d];
    }
  }
  return out;
}

describe('attentionInto', () => {
  it('matches the naive masked reference (GQA, causal, sliding window, custom masks)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 0, max: 1e6 }),
          Hkv: fc.constantFrom(1, 2, 3),
          group: fc.constantFrom(1, 2),
          Dh: fc.constantFrom(2, 4, 6),
          pos0: fc.integer({ min: 0, max: 9 }),
          T: fc.integer({ min: 1, max: 6 }),
          window: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
          stripe: fc.option(fc.integer({ min: 2, max: 4 }), { nil: null }),
        }),
        ({ seed, Hkv, group, Dh, pos0, T, window, stripe }) => {
          const H = Hkv * group;
          const S = pos0 + T;
          const rng = createRng(seed);
          const q = new Float32Array(T * H * Dh);
          const k = new Float32Array(S * Hkv * Dh);
          const v = new Float32Array(S * Hkv * Dh);
          [q, k, v].forEach((a) => fillNormal(a, rng));
          // a block-sparse-like extra rule that always keeps the diagonal
          const allows = stripe === null ? undefined : (h: number, i: number, j: number) => j === i || (j + h) % stripe === 0;
          const mask: AttentionMask = { window, allows };
          const out = new Float32Array(T * H * Dh);
          attentionInto(out, q, k, v, pos0, T, { nHeads: H, nKvHeads: Hkv, headDim: Dh }, 1 / Math.sqrt(Dh), mask);
          const ref = naiveAttention(q, k, v, pos0, T, H, Hkv, Dh, window, allows);
          for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - ref[i])).toBeLessThan(1e-5);
        },
      ),
      { seed: 3, numRuns: 200 },
    );
  });

  it('a window of W lets query i see exactly keys i-W+1 .. i', () => {
    // one head, Dh = 2, values = one-hot position markers: the output is the attention distribution
    const S = 6;
    const W = 3;
    const q = new Float32Array(S * 2);
    const k = new Float32Array(S * 2);
    const v = new Float32Array(S * 2);
    const out = new Float32Array(S * 2);
    for (let j = 0; j < S; j++) v[j * 2] = 2 ** j; // sum of weights·2^j reveals which keys were used
    attentionInto(out, q, k, v, 0, S, { nHeads: 1, nKvHeads: 1, headDim: 2 }, 1, { window: W });
    for (let i = 0; i < S; i++) {
      const keys = Array.from({ length: i + 1 }, (_, j) => j).filter((j) => j > i - W);
      const expected = keys.reduce((a, j) => a + 2 ** j, 0) / keys.length; // uniform over visible keys
      expect(out[i * 2]).toBeCloseTo(expected, 5);
    }
  });
});
