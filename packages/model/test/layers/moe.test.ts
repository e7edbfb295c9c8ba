import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createRng, denseMatrix, fillNormal, quantizeMatrix, type DenseMatrix, type WeightMatrix } from '@phi3/tensor';
import { routeSparsemixer, sparseMoe, type ExpertWeights, type MoeWeights } from '../../src/layers/moe.ts';

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

// ---- the MoE layer: dispatch vs naive references --------------------------------------------

function randomMatrix(rows: number, cols: number, seed: number, std = 0.5): DenseMatrix {
  const data = new Float32Array(rows * cols);
  fillNormal(data, createRng(seed), std);
  return denseMatrix(data, rows, cols);
}

function randomExpert(D: number, F: number, seed: number): ExpertWeights {
  return { w1: randomMatrix(F, D, seed), w2: randomMatrix(D, F, seed + 1), w3: randomMatrix(F, D, seed + 2) };
}

function randomInput(T: number, D: number, seed: number): Float32Array {
  const x = new Float32Array(T * D);
  fillNormal(x, createRng(seed));
  return x;
}

/** y = W x for one row vector, in float64, straight from the dense data. */
function naiveMatvec(w: WeightMatrix, x: ArrayLike<number>): number[] {
  if (w.format !== 'f32') throw new Error('naive reference needs dense weights');
  return Array.from({ length: w.rows }, (_, r) => {
    let acc = 0;
    for (let c = 0; c < w.cols; c++) acc += w.data[r * w.cols + c] * x[c];
    return acc;
  });
}

/** A dense SwiGLU MLP on one token: w2(silu(w1 x) * (w3 x)). */
function naiveExpert(e: ExpertWeights, x: ArrayLike<number>): number[] {
  const g = naiveMatvec(e.w1, x);
  const u = naiveMatvec(e.w3, x);
  return naiveMatvec(e.w2, g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]));
}

/** Per-token reference: route with the naive sparsemixer, run the two chosen experts densely. */
function naiveMoe(x: Float32Array, T: number, w: MoeWeights, jitterEps: number): number[][] {
  const D = w.gate.cols;
  return Array.from({ length: T }, (_, t) => {
    const xt = x.subarray(t * D, (t + 1) * D);
    const scores = naiveMatvec(w.gate, xt).map(Math.fround); // the layer's router logits are f32
    const { experts, weights } = naiveSparsemixer(scores, jitterEps);
    const y0 = naiveExpert(w.experts[experts[0]], xt);
    const y1 = naiveExpert(w.experts[experts[1]], xt);
    return y0.map((v, j) => weights[0] * v + weights[1] * y1[j]);
  });
}

function maxAbsDiffRows(actual: Float32Array, expected: number[][]): number {
  const D = expected[0].length;
  let worst = 0;
  expected.forEach((row, t) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(actual[t * D + j] - v)))));
  return worst;
}

const layerShape = fc.record({
  T: fc.integer({ min: 1, max: 9 }),
  D: fc.integer({ min: 1, max: 12 }),
  F: fc.integer({ min: 1, max: 10 }),
  E: fc.integer({ min: 2, max: 6 }),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

function randomLayer(D: number, F: number, E: number, seed: number): MoeWeights {
  return {
    gate: randomMatrix(E, D, seed, 1),
    experts: Array.from({ length: E }, (_, e) => randomExpert(D, F, seed + 10 * (e + 1))),
  };
}

describe('sparseMoe', () => {
  const RUNS = { seed: 7, numRuns: 60 };

  test.prop([layerShape], RUNS)('equals a naive per-token reference (route, then the two experts densely)', ({ T, D, F, E, seed }) => {
    const w = randomLayer(D, F, E, seed);
    const x = randomInput(T, D, seed + 999);
    const { out, routing } = sparseMoe(x, T, w, 0.01);
    expect(maxAbsDiffRows(out, naiveMoe(x, T, w, 0.01))).toBeLessThan(1e-4);
    expect(routing.tokens).toBe(T);
  });

  test.prop([layerShape], RUNS)('with identical experts it is a dense MLP scaled by the two routing weights', ({ T, D, F, E, seed }) => {
    const expert = randomExpert(D, F, seed);
    const w: MoeWeights = { gate: randomMatrix(E, D, seed + 5, 1), experts: Array(E).fill(expert) };
    const x = randomInput(T, D, seed + 3);
    const { out, routing } = sparseMoe(x, T, w, 0.01);
    const dense = Array.from({ length: T }, (_, t) => {
      const scale = routing.weights[2 * t] + routing.weights[2 * t + 1];
      return naiveExpert(expert, x.subarray(t * D, (t + 1) * D)).map((v) => scale * v);
    });
    expect(maxAbsDiffRows(out, dense)).toBeLessThan(1e-4);
  });

  test.prop([layerShape], RUNS)(
    'with all router rows equal every token uses experts 0 and 1 with weights 1/E and 1/(E-1)',
    ({ T, D, F, E, seed }) => {
      const row = randomMatrix(1, D, seed, 1).data;
      const gate = denseMatrix(Float32Array.from({ length: E * D }, (_, i) => row[i % D]), E, D);
      const w: MoeWeights = { gate, experts: Array.from({ length: E }, (_, e) => randomExpert(D, F, seed + 10 * e)) };
      const x = randomInput(T, D, seed + 1);
      const { out } = sparseMoe(x, T, w, 0.01);
      const dense = Array.from({ length: T }, (_, t) => {
        const xt = x.subarray(t * D, (t + 1) * D);
        const a = naiveExpert(w.experts[0], xt);
        const b = naiveExpert(w.experts[1], xt);
        return a.map((v, j) => v / E + b[j] / (E - 1));
      });
      expect(maxAbsDiffRows(out, dense)).toBeLessThan(1e-4);
    },
  );

  test.prop([layerShape, fc.integer({ min: 0, max: 1e6 })], RUNS)(
    'is invariant to permuting the experts together with their router rows',
    ({ T, D, F, E, seed }, permSeed) => {
      const w = randomLayer(D, F, E, seed);
      const rng = createRng(permSeed);
      const perm = [...Array(E).keys()];
      for (let i = E - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      // new expert p is old expert perm[p]: router row p = old row perm[p]
      const gateData = new Float32Array(E * D);
      perm.forEach((old, p) => gateData.set((w.gate as DenseMatrix).data.subarray(old * D, (old + 1) * D), p * D));
      const permuted: MoeWeights = { gate: denseMatrix(gateData, E, D), experts: perm.map((old) => w.experts[old]) };
      const x = randomInput(T, D, seed + 17);
      const a = sparseMoe(x, T, w, 0.01);
      const b = sparseMoe(x, T, permuted, 0.01);
      for (let i = 0; i < a.out.length; i++) expect(b.out[i]).toBeCloseTo(a.out[i], 4);
      for (let s = 0; s < 2 * T; s++) expect(perm[b.routing.experts[s]]).toBe(a.routing.experts[s]);
    },
  );

  test('only routed experts run: an expert nobody chose may hold garbage', () => {
    const D = 32, F = 8, E = 4, T = 3;
    const w = randomLayer(D, F, E, 11);
    const x = randomInput(T, D, 12);
    const clean = sparseMoe(x, T, w, 0.01);
    const used = new Set(clean.routing.experts);
    const unused = [...Array(E).keys()].find((e) => !used.has(e));
    expect(unused).toBeDefined();
    const nan = denseMatrix(new Float32Array(F * D).fill(Number.NaN), F, D);
    const poisoned: MoeWeights = { ...w, experts: w.experts.map((ex, e) => (e === unused ? { ...ex, w1: nan } : ex)) };
    expect(Array.from(sparseMoe(x, T, poisoned, 0.01).out)).toEqual(Array.from(clean.out));
  });

  test('quantized expert weights go through the same dispatch (q8_0 close to f32)', () => {
    const D = 64, F = 32, E = 4, T = 5;
    const w = randomLayer(D, F, E, 21);
    const q8: MoeWeights = {
      gate: w.gate,
      experts: w.experts.map((ex) => ({
        w1: quantizeMatrix(ex.w1 as DenseMatrix, 'q8_0'),
        w2: quantizeMatrix(ex.w2 as DenseMatrix, 'q8_0'),
        w3: quantizeMatrix(ex.w3 as DenseMatrix, 'q8_0'),
      })),
    };
    const x = randomInput(T, D, 22);
    const a = sparseMoe(x, T, w, 0.01);
    const b = sparseMoe(x, T, q8, 0.01);
    expect(Array.from(b.routing.experts)).toEqual(Array.from(a.routing.experts));
    const scale = Math.max(...Array.from(a.out, Math.abs));
    for (let i = 0; i < a.out.length; i++) expect(Math.abs(b.out[i] - a.out[i])).toBeLessThan(0.05 * scale);
  });
});
