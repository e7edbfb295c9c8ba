import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { layerNormInto, rmsNormInto } from '../../src/ops/norm.ts';
import { PROP, randomArray } from '../helpers.ts';

const shape = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 70 }));
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe('rmsNorm', () => {
  test.prop([shape, seed], PROP)('matches HF Phi3RMSNorm: w · x / sqrt(mean(x²) + eps)', ([T, D], s) => {
    const x = randomArray(T * D, s, 2);
    const w = randomArray(D, s + 1);
    const out = new Float32Array(T * D);
    rmsNormInto(out, x, w, T, D, 1e-5);
    for (let t = 0; t < T; t++) {
      const row = Array.from(x.subarray(t * D, (t + 1) * D));
      const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / D + 1e-5);
      for (let j = 0; j < D; j++) expect(out[t * D + j]).toBeCloseTo((w[j] * row[j]) / rms, 5);
    }
  });

  test.prop([shape, seed, fc.double({ min: 1e-3, max: 1e3, noNaN: true })], PROP)('is scale-invariant: rmsNorm(c·x) = rmsNorm(x) (eps ≪ mean x²)', ([T, D], s, c) => {
    const x = randomArray(T * D, s);
    const w = randomArray(D, s + 1);
    const a = new Float32Array(T * D);
    const b = new Float32Array(T * D);
    rmsNormInto(a, x, w, T, D, 1e-12);
    rmsNormInto(b, x.map((v) => v * c), w, T, D, 1e-12);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * (Math.abs(a[i]) + 1e-3));
  });

  it('puts eps inside the sqrt and works in place', () => {
    const x = Float32Array.from([0, 0, 0, 0]);
    rmsNormInto(x, x, Float32Array.from([1, 1, 1, 1]), 1, 4, 1);
    expect(Array.from(x)).toEqual([0, 0, 0, 0]);
    const y = Float32Array.from([1, 1]);
    rmsNormInto(y, y, Float32Array.from([1, 2]), 1, 2, 3); // 1 / sqrt(1 + 3) = 0.5
    expect(Array.from(y)).toEqual([0.5, 1]);
  });
});

describe('layerNorm', () => {
  test.prop([shape, seed], PROP)('matches torch LayerNorm (biased variance) and normalises to mean 0, var 1', ([T, D], s) => {
    const x = randomArray(T * D, s, 3).map((v) => v + 5);
    const w = randomArray(D, s + 1);
    const b = randomArray(D, s + 2);
    const out = new Float32Array(T * D);
    layerNormInto(out, x, w, b, T, D, 1e-5);
    const unit = new Float32Array(T * D);
    layerNormInto(unit, x, new Float32Array(D).fill(1), new Float32Array(D), T, D, 0);
    for (let t = 0; t < T; t++) {
      const row = Array.from(x.subarray(t * D, (t + 1) * D));
      const mean = row.reduce((a, v) => a + v, 0) / D;
      const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
      for (let j = 0; j < D; j++) {
        expect(out[t * D + j]).toBeCloseTo(((row[j] - mean) / Math.sqrt(variance + 1e-5)) * w[j] + b[j], 4);
      }
      if (D > 1 && variance > 1e-3) {
        const u = Array.from(unit.subarray(t * D, (t + 1) * D));
        const um = u.reduce((a, v) => a + v, 0) / D;
        expect(Math.abs(um)).toBeLessThan(1e-5);
        expect(u.reduce((a, v) => a + (v - um) ** 2, 0) / D).toBeCloseTo(1, 4);
      }
    }
  });

  it('rejects bad shapes with ShapeError', () => {
    expect(() => layerNormInto(new Float32Array(4), new Float32Array(4), new Float32Array(2), new Float32Array(3), 2, 2, 1e-5)).toThrow(ShapeError);
    expect(() => rmsNormInto(new Float32Array(4), new Float32Array(4), new Float32Array(3), 2, 2, 1e-5)).toThrow(ShapeError);
    expect(() => rmsNormInto(new Float32Array(0), new Float32Array(0), new Float32Array(0), 2, 0, 1e-5)).toThrow(ShapeError);
  });
});
