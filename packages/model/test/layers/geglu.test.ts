import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { denseMatrix } from '@phi3/tensor';
import { gegluClampInto, gegluMlp } from '../../src/layers/geglu.ts';

const SEED = { seed: 20261129 };

/** Naive transcription of fixtures/phi3small-notes.md §4.7: split, clamp, quick-GELU, (b + 1). */
function gegluNaive(u: number[], limit: number): number[] {
  const a = u.filter((_, i) => i % 2 === 0);
  const b = u.filter((_, i) => i % 2 === 1);
  return a.map((ai, i) => {
    const ac = Number.isFinite(ai) ? Math.min(ai, limit) : ai;
    const bc = Number.isFinite(b[i]) ? Math.min(Math.max(b[i], -limit), limit) : b[i];
    return (ac / (1 + Math.exp(-1.702 * ac))) * (bc + 1);
  });
}

describe('gegluClampInto', () => {
  test.prop([
    fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.5, max: 20, noNaN: true }), fc.integer(),
  ], SEED)('matches the naive split/clamp/quick-GELU formula', (T, F, limit, seed) => {
    const u = Float32Array.from({ length: T * 2 * F }, (_, i) => Math.fround(Math.sin(seed + i * 12.9898) * 3 * limit));
    const out = new Float32Array(T * F);
    gegluClampInto(out, u, T, F, limit);
    for (let t = 0; t < T; t++) {
      const expected = gegluNaive(Array.from(u.subarray(t * 2 * F, (t + 1) * 2 * F)), limit);
      for (let i = 0; i < F; i++) expect(out[t * F + i]).toBeCloseTo(Math.fround(expected[i]), 5);
    }
  });

  test('splits interleaved: even columns gate, odd columns are linear (+1)', () => {
    const out = new Float32Array(2);
    // pair 0: a = 0 → gelu 0 whatever b; pair 1: a = 2, b = 0 → quickGelu(2)·1
    gegluClampInto(out, Float32Array.from([0, 5, 2, 0]), 1, 2, 20);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(2 / (1 + Math.exp(-3.404)), 6);
  });

  test('clamps the gate from above only and the linear half on both sides; inf passes', () => {
    const out = new Float32Array(4);
    gegluClampInto(out, Float32Array.from([100, 0, -3, 0, 1, -100, 1, Infinity]), 1, 4, 6);
    expect(out[0]).toBeCloseTo(6 / (1 + Math.exp(-1.702 * 6)), 5); // a clamped to 6
    expect(out[1]).toBeCloseTo(-3 / (1 + Math.exp(1.702 * 3)), 6); // a = -3 is not clamped below
    expect(out[2]).toBeCloseTo((1 / (1 + Math.exp(-1.702))) * (-6 + 1), 5); // b clamped to -6
    expect(out[3]).toBe(Infinity); // b = +inf is left alone
  });
});

describe('gegluMlp', () => {
  test('is down(geglu(up(x) + b_up)) + b_down', () => {
    const D = 2, F = 1;
    const up = denseMatrix(Float32Array.from([1, 0, 0, 1]), 2 * F, D); // u = x
    const down = denseMatrix(Float32Array.from([1, 2]), D, F);
    const out = gegluMlp(Float32Array.from([1, 0.5]), 1, { up: { weight: up, bias: Float32Array.from([0, 1]) }, down: { weight: down, bias: Float32Array.from([0.25, 0]) } }, 20);
    const g = (1 / (1 + Math.exp(-1.702))) * (1.5 + 1);
    expect(out[0]).toBeCloseTo(g + 0.25, 5);
    expect(out[1]).toBeCloseTo(2 * g, 5);
  });
});
