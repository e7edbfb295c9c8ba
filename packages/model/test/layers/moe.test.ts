import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { routeSparsemixer } from '../../src/layers/moe.ts';

const SEED = { seed: 20241204, numRuns: 200 };

/**
 * Naive transcription of HF v4.47.1 `sparsemixer` (eval mode) for one token, written the way the
 * Python does it: masked_fill with -inf over the whole vector, a full softmax, then gather.
 */
function naiveSparsemixer(s: number[], jitterEps: number): { experts: number[]; weights: number[] } {
  const softmax = (v: number[]) => {
    const m = Math.max(...v);
    const ex = v.map((x) => Math.exp(x - m));
    const z = ex.reduce((a, b) => a + b, 0);
    return ex.map((x) => x / z);
  };
  const argmax = (v: number[]) => v.indexOf(Math.max(...v));
  const maskedBy = (scores: number[], top: number) =>
    scores.map((x, e) => ((top - s[e]) / Math.max(Math.abs(s[e]), top) > 2 * jitterEps ? -Infinity : x));
  const e1 = argmax(s);
  const w1 = softmax(maskedBy(s, s[e1]))[e1];
  const without1 = s.map((x, e) => (e === e1 ? -Infinity : x));
  const e2 = argmax(without1);
  const w2 = softmax(maskedBy(without1, without1[e2]))[e2];
  return { experts: [e1, e2], weights: [w1, w2] };
}

/** Router logits with frequent exact ties and near-threshold gaps (values on a coarse grid). */
const tokenScores = (E: number) =>
  fc.array(fc.oneof(fc.integer({ min: -40, max: 40 }).map((k) => k / 8), fc.double({ min: -6, max: 6, noNaN: true })), {
    minLength: E,
    maxLength: E,
  });

const routerCase = fc
  .integer({ min: 2, max: 9 })
  .chain((E) => fc.tuple(fc.constant(E), fc.array(tokenScores(E), { minLength: 1, maxLength: 6 })));

describe('routeSparsemixer', () => {
  test.prop([routerCase, fc.constantFrom(0.01, 0.05, 0)], SEED)(
    'matches a naive per-token transcription of HF sparsemixer',
    ([E, rows], jitterEps) => {
      const logits = Float64Array.from(rows.flat());
      const r = routeSparsemixer(logits, rows.length, E, jitterEps);
      rows.forEach((row, t) => {
        const ref = naiveSparsemixer(row, jitterEps);
        expect([r.experts[2 * t], r.experts[2 * t + 1]]).toEqual(ref.experts);
        expect(r.weights[2 * t]).toBe(Math.fround(ref.weights[0]));
        expect(r.weights[2 * t + 1]).toBe(Math.fround(ref.weights[1]));
      });
    },
  );

  test.prop([routerCase], SEED)('weights lie in (0, 1] and the two experts differ', ([E, rows]) => {
    const r = routeSparsemixer(Float64Array.from(rows.flat()), rows.length, E, 0.01);
    for (let t = 0; t < rows.length; t++) {
      expect(r.experts[2 * t]).not.toBe(r.experts[2 * t + 1]);
      for (const w of [r.weights[2 * t], r.weights[2 * t + 1]]) {
        expect(w).toBeGreaterThan(0);
        expect(w).toBeLessThanOrEqual(1);
      }
    }
  });

  // Distinct scores: with ties, "first index" legitimately depends on the order.
  const distinctRow = fc
    .integer({ min: 2, max: 8 })
    .chain((E) => fc.uniqueArray(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: E, maxLength: E }));
  test.prop([distinctRow, fc.integer({ min: 0, max: 1e6 })], SEED)(
    'is invariant to permuting the experts (router rows) together with their ids',
    (row, permSeed) => {
      const E = row.length;
      const perm = [...Array(E).keys()].sort((a, b) => ((a * 7919 + permSeed) % 97) - ((b * 7919 + permSeed) % 97) || a - b);
      // permuted[p] = row[perm[p]]: new expert p is old expert perm[p]
      const permuted = perm.map((old) => row[old]);
      const a = routeSparsemixer(Float64Array.from(row), 1, E, 0.01);
      const b = routeSparsemixer(Float64Array.from(permuted), 1, E, 0.01);
      expect([perm[b.experts[0]], perm[b.experts[1]]]).toEqual([a.experts[0], a.experts[1]]);
      expect(b.weights[0]).toBeCloseTo(a.weights[0], 6);
      expect(b.weights[1]).toBeCloseTo(a.weights[1], 6);
    },
  );

  test.prop([fc.integer({ min: 2, max: 16 }), fc.double({ min: -5, max: 5, noNaN: true })], SEED)(
    'equal scores pick experts 0 and 1 with weights 1/E and 1/(E-1)',
    (E, value) => {
      const r = routeSparsemixer(new Float64Array(E).fill(value), 1, E, 0.01);
      expect(Array.from(r.experts)).toEqual([0, 1]);
      expect(r.weights[0]).toBe(Math.fround(1 / E));
      expect(r.weights[1]).toBe(Math.fround(1 / (E - 1)));
    },
  );

  test('a clear winner gets weight exactly 1 (the mask removes every other expert)', () => {
    const r = routeSparsemixer(Float32Array.from([0.1, 5, -2, 2]), 1, 4, 0.01);
    expect(Array.from(r.experts)).toEqual([1, 3]);
    expect(Array.from(r.weights)).toEqual([1, 1]);
  });

  test('rejects fewer than two experts', () => {
    expect(() => routeSparsemixer(Float32Array.from([1]), 1, 1, 0.01)).toThrow(RangeError);
  });

  test('reproduces every decision recorded in fixtures/phimoe-tiny/router.json from its router logits', () => {
    const path = fileURLToPath(new URL('../../../../fixtures/phimoe-tiny/router.json', import.meta.url));
    const fixture = JSON.parse(readFileSync(path, 'utf8')) as {
      layers: { router_logits: number[][]; selected_experts: number[][]; routing_weights: number[][] }[];
    };
    const config = JSON.parse(readFileSync(path.replace('router.json', 'config.json'), 'utf8')) as {
      router_jitter_noise: number;
    };
    let below1 = 0;
    for (const layer of fixture.layers) {
      const T = layer.router_logits.length;
      const E = layer.router_logits[0].length;
      const r = routeSparsemixer(Float64Array.from(layer.router_logits.flat()), T, E, config.router_jitter_noise);
      for (let t = 0; t < T; t++) {
        expect([r.experts[2 * t], r.experts[2 * t + 1]]).toEqual(layer.selected_experts[t]);
        for (let k = 0; k < 2; k++) {
          // router.json logits are printed with 7 decimals, so the weights agree to ~1e-6
          expect(Math.abs(r.weights[2 * t + k] - layer.routing_weights[t][k])).toBeLessThan(1e-5);
          if (layer.routing_weights[t][k] < 1) below1++;
        }
      }
    }
    expect(below1).toBeGreaterThan(0); // the fixture exercises weights below 1
  });
});
