// The SIMD RMSNorm against the definition in float64.
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { wasmRmsNormInto } from '../../src/wasm/norm.ts';
import { PROP, randomArray } from '../helpers.ts';

describe.each([1, 2])('wasmRmsNormInto (%i threads)', (threads) => {
  const arena = new WasmWeightArena({ threads, maxBytesPerMemory: 64 * 1024 * 1024, parallelMinWork: 0 });
  afterAll(() => arena.close());

  // T from one row to past the threads' split (16 rows); D from one 16-wide step to phi-3-mini's
  test.prop([fc.integer({ min: 1, max: 40 }), fc.constantFrom(16, 48, 3072), fc.constantFrom(1e-5, 1e-6, 0.5), fc.integer({ min: 0, max: 1000 })], { ...PROP, numRuns: 25 })(
    'is within a few f32 ulp of w ⊙ x / sqrt(mean(x²) + eps) in float64', (T, D, eps, s) => {
      const weight = arena.allocateF32(D)!;
      weight.set(randomArray(D, s));
      const x = randomArray(T * D, s + 1, 3);
      const got = new Float32Array(T * D).fill(NaN);
      expect(wasmRmsNormInto(got, x, weight, T, D, eps)).toBe(true);
      let worst = 0; // the largest error past the bound (≤ 0: all within)
      for (let t = 0; t < T; t++) {
        let ss = 0;
        for (let j = 0; j < D; j++) ss += x[t * D + j] ** 2;
        const inv = 1 / Math.sqrt(ss / D + eps);
        for (let j = 0; j < D; j++) {
          const want = weight[j] * x[t * D + j] * inv;
          worst = Math.max(worst, Math.abs(got[t * D + j] - want) - (4e-7 * Math.abs(want) + 1e-30));
        }
      }
      expect(worst).toBeLessThanOrEqual(0);
    });

  it(`splits rows over the threads (${threads === 2 ? 'one hand-off' : 'none'}), a row alone on this thread`, () => {
    const weight = arena.allocateF32(64)!;
    weight.set(randomArray(64, 5));
    const x = randomArray(32 * 64, 6);
    const jobs = arena.workerJobs;
    const got = new Float32Array(32 * 64);
    expect(wasmRmsNormInto(got, x, weight, 32, 64, 1e-5)).toBe(true);
    expect(arena.workerJobs - jobs).toBe(threads - 1);
    const alone = new Float32Array(64);
    expect(wasmRmsNormInto(alone, x.subarray(31 * 64), weight, 1, 64, 1e-5)).toBe(true); // one row, this thread
    expect(got.subarray(31 * 64)).toEqual(alone);
  });

  it('declines weights outside wasm memory and widths that are not a multiple of 16', () => {
    const x = randomArray(24, 1);
    expect(wasmRmsNormInto(new Float32Array(16), x, randomArray(16, 2), 1, 16, 1e-5)).toBe(false);
    const placed = arena.allocateF32(24)!;
    expect(wasmRmsNormInto(new Float32Array(24), x, placed, 1, 24, 1e-5)).toBe(false);
  });
});
