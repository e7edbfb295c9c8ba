import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import {
  DEFAULT_SAMPLING,
  applyMinP,
  applyRepetitionPenalty,
  applyTopK,
  applyTopP,
  createSampler,
  validateSamplingOptions,
  type SamplingOptions,
} from '../../src/generate/sampling.ts';
import { InvalidArgumentError } from '../../src/errors.ts';
import { argmax } from '@phi3/tensor';

const params = { seed: 20261129, numRuns: 100 };
const logitsArb = fc
  .array(fc.float({ min: -20, max: 20, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 })
  .map((a) => Float32Array.from(a));

/** Naive reference probabilities in float64. */
function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}
const kept = (a: Float32Array): number[] => [...a.keys()].filter((i) => a[i] !== -Infinity);

describe('top-k', () => {
  test.prop([logitsArb, fc.integer({ min: 1, max: 70 })], params)('keeps exactly the k largest, plus ties with the k-th', (logits, k) => {
    const out = Float32Array.from(logits);
    applyTopK(out, k);
    const sorted = Array.from(logits).sort((a, b) => b - a);
    const kth = sorted[Math.min(k, logits.length) - 1];
    const expected = [...logits.keys()].filter((i) => logits[i] >= kth);
    expect(kept(out)).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(Math.min(k, logits.length));
    // without ties the count is exactly min(k, V)
    if (new Set(logits).size === logits.length) expect(expected.length).toBe(Math.min(k, logits.length));
    for (const i of expected) expect(out[i]).toBe(logits[i]); // survivors unchanged
  });
});

describe('top-p', () => {
  test.prop([logitsArb, fc.double({ min: 0.01, max: 1, noNaN: true })], params)('keeps the smallest most-likely prefix with mass ≥ p', (logits, p) => {
    const out = Float32Array.from(logits);
    applyTopP(out, p);
    const probs = softmax(logits);
    const keptIds = kept(out);
    const keptMass = keptIds.reduce((s, i) => s + probs[i], 0);
    expect(keptIds.length).toBeGreaterThanOrEqual(1);
    expect(keptMass).toBeGreaterThanOrEqual(p - 1e-9);
    // every kept token is at least as likely as every removed one
    const minKept = Math.min(...keptIds.map((i) => logits[i]));
    for (let i = 0; i < logits.length; i++) if (out[i] === -Infinity) expect(logits[i]).toBeLessThanOrEqual(minKept);
    // smallest: dropping the least likely kept token falls below p
    if (keptIds.length > 1) expect(keptMass - probs[keptIds.reduce((a, b) => (logits[b] < logits[a] || (logits[b] === logits[a] && b > a) ? b : a))]).toBeLessThan(p + 1e-9);
  });

  test('p = 1 keeps everything', () => {
    const out = Float32Array.from([1, 2, 3]);
    applyTopP(out, 1);
    expect(Array.from(out)).toEqual([1, 2, 3]);
  });
});

describe('min-p', () => {
  test.prop([logitsArb, fc.double({ min: 0.001, max: 1, noNaN: true })], params)('drops exactly the tokens below minP · p_max', (logits, minP) => {
    const out = Float32Array.from(logits);
    applyMinP(out, minP);
    const probs = softmax(logits);
    const pMax = Math.max(...probs);
    for (let i = 0; i < logits.length; i++) {
      const ratio = probs[i] / pMax;
      if (Math.abs(ratio - minP) < 1e-6) continue; // boundary rounding
      expect(out[i] === -Infinity).toBe(ratio < minP);
    }
    expect(out[argmax(logits)]).toBe(logits[argmax(logits)]);
  });
});

describe('repetition penalty', () => {
  test('divides positive and multiplies negative logits once per distinct token (HF)', () => {
    const out = Float32Array.from([2, -2, 1, 4]);
    applyRepetitionPenalty(out, [0, 1, 1, 0], 2);
    expect(Array.from(out)).toEqual([1, -4, 1, 4]);
  });
  test('the last-n window limits which tokens are penalized', () => {
    const s = createSampler({ ...DEFAULT_SAMPLING, repetitionPenalty: 100, repetitionLastN: 1 });
    // token 0 is the best, token 1 second; 0 is in history but outside the window of 1
    expect(s(Float32Array.from([5, 4, 0]), [0, 2])).toBe(0);
    expect(s(Float32Array.from([5, 4, 0]), [2, 0])).toBe(1);
    const off = createSampler({ ...DEFAULT_SAMPLING, repetitionPenalty: 100, repetitionLastN: 0 });
    expect(off(Float32Array.from([5, 4, 0]), [0])).toBe(0);
    const all = createSampler({ ...DEFAULT_SAMPLING, repetitionPenalty: 100, repetitionLastN: -1 });
    expect(all(Float32Array.from([5, 4, 0]), [0, 2, 2, 2])).toBe(1);
  });
});

describe('sampler', () => {
  const sampled = (o: Partial<SamplingOptions>, rows: Float32Array[]): number[] => {
    const s = createSampler({ ...DEFAULT_SAMPLING, ...o });
    return rows.map((r) => s(r, []));
  };
  const rowsArb = fc.array(logitsArb, { minLength: 1, maxLength: 8 });

  test.prop([rowsArb], params)('temperature 0 is greedy (argmax)', (rows) => {
    expect(sampled({ temperature: 0 }, rows)).toEqual(rows.map(argmax));
  });

  test.prop([rowsArb, fc.integer({ min: 0, max: 2 ** 32 - 1 })], params)('temperature → 0 equals greedy', (rows, seed) => {
    // distinct maxima so greedy is unambiguous, with a margin the tiny temperature blows up
    const clean = rows.map((r) => { const c = Float32Array.from(r); c[argmax(r)] += 0.5; return c; });
    expect(sampled({ temperature: 1e-3, seed }, clean)).toEqual(clean.map(argmax));
  });

  test.prop([rowsArb, fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.double({ min: 0.1, max: 2, noNaN: true })], params)(
    'same seed → same tokens; the token is always one that survived the filters',
    (rows, seed, temperature) => {
      const o = { temperature, topK: 5, topP: 0.9, minP: 0.05, seed };
      const a = sampled(o, rows);
      expect(sampled(o, rows)).toEqual(a);
      rows.forEach((r, i) => {
        const f = Float32Array.from(r).map((x) => x / temperature);
        applyTopK(f, 5); applyTopP(f, 0.9); applyMinP(f, 0.05);
        expect(f[a[i]]).not.toBe(-Infinity);
      });
    },
  );

  test('sampling frequencies follow softmax(logits / T)', () => {
    const logits = Float32Array.from([0, Math.log(2), Math.log(5)]); // p = 1/8, 2/8, 5/8
    const s = createSampler({ ...DEFAULT_SAMPLING, temperature: 1, seed: 7 });
    const counts = [0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[s(logits, [])]++;
    expect(counts[0] / 8000).toBeCloseTo(1 / 8, 1);
    expect(counts[1] / 8000).toBeCloseTo(2 / 8, 1);
    expect(counts[2] / 8000).toBeCloseTo(5 / 8, 1);
  });

  test('input logits are not modified', () => {
    const row = Float32Array.from([1, 2, 3]);
    createSampler({ ...DEFAULT_SAMPLING, temperature: 0.7, topK: 1, repetitionPenalty: 2 })(row, [2]);
    expect(Array.from(row)).toEqual([1, 2, 3]);
  });
});

describe('validation', () => {
  const cases: [string, Partial<SamplingOptions>][] = [
    ['negative temperature', { temperature: -0.1 }],
    ['NaN temperature', { temperature: NaN }],
    ['top-p 0', { topP: 0 }],
    ['top-p > 1', { topP: 1.5 }],
    ['min-p > 1', { minP: 2 }],
    ['fractional top-k', { topK: 2.5 }],
    ['negative top-k', { topK: -1 }],
    ['zero penalty', { repetitionPenalty: 0 }],
    ['repeat-last-n < -1', { repetitionLastN: -2 }],
    ['negative seed', { seed: -1 }],
  ];
  for (const [name, o] of cases) {
    test(`${name} → InvalidArgumentError`, () => {
      expect(() => validateSamplingOptions({ ...DEFAULT_SAMPLING, ...o })).toThrow(InvalidArgumentError);
      expect(() => createSampler({ ...DEFAULT_SAMPLING, ...o })).toThrow(InvalidArgumentError);
    });
  }
  test('defaults are valid', () => {
    expect(() => validateSamplingOptions(DEFAULT_SAMPLING)).not.toThrow();
  });
});
