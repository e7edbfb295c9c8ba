// The SIMD SwiGLU (polynomial exp) against the definition in float64.
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { denseMatrix, quantizeMatrix } from '../../src/matrix.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { wasmLinearInto } from '../../src/wasm/linear.ts';
import { wasmSwiGluInto, wasmSwiGluMlpInto } from '../../src/wasm/swiglu.ts';
import { PROP, randomArray } from '../helpers.ts';

/** up · g / (1 + e^−g) in float64. */
const swiglu64 = (g: number, up: number): number => up * (g / (1 + Math.exp(-g)));

describe.each([1, 2])('wasmSwiGluInto (%i threads)', (threads) => {
  const arena = new WasmWeightArena({ threads, maxBytesPerMemory: 64 * 1024 * 1024, parallelMinWork: 0 });
  afterAll(() => arena.close());
  const near = arena.place(denseMatrix(new Float32Array(8), 2, 4)); // any matrix in the arena's memory

  test.prop([fc.integer({ min: 1, max: 5 }), fc.constantFrom(4, 8, 36, 1024, 2052), fc.constantFrom(1, 8, 40), fc.integer({ min: 0, max: 1000 })], { ...PROP, numRuns: 25 })(
    'is within a few ulp of up · silu(gate) in float64, for every column split', (T, F, scale, s) => {
      const gu = randomArray(T * 2 * F, s, scale);
      const act = new Float32Array(T * F).fill(NaN);
      expect(wasmSwiGluInto(act, gu, T, F, near)).toBe(true);
      for (let t = 0; t < T; t++) {
        for (let f = 0; f < F; f++) {
          const [g, up] = [gu[t * 2 * F + f], gu[t * 2 * F + F + f]];
          const want = swiglu64(g, up);
          // relative: exp polynomial and roundings; absolute: exp's input clamped at ±87 (e^−87 < 2e-38)
          expect(Math.abs(act[t * F + f] - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 2e-38 * Math.abs(up * g) + 1e-40);
        }
      }
    });

  it('saturates like the definition far out (exp clamped to normal f32 range)', () => {
    const gu = Float32Array.of(-200, -90, 90, 200, 1, 1, 1, 1);
    const act = new Float32Array(4);
    expect(wasmSwiGluInto(act, gu, 1, 4, near)).toBe(true);
    expect(Math.abs(act[0])).toBeLessThan(1e-30);
    expect(Math.abs(act[1])).toBeLessThan(1e-30);
    expect(act[2]).toBe(90);
    expect(act[3]).toBe(200);
  });

  it('declines matrices outside wasm memory and F not a multiple of 4', () => {
    const gu = randomArray(12, 3);
    expect(wasmSwiGluInto(new Float32Array(6), gu, 1, 6, near)).toBe(false);
    expect(wasmSwiGluInto(new Float32Array(4), gu.subarray(0, 8), 1, 4, denseMatrix(new Float32Array(8), 2, 4))).toBe(false);
  });
});

describe.each([1, 2])('wasmSwiGluMlpInto (%i threads)', (threads) => {
  const arena = new WasmWeightArena({ threads, maxBytesPerMemory: 64 * 1024 * 1024, parallelMinWork: 0 });
  afterAll(() => arena.close());
  const place = (format: 'f32' | 'q8_0' | 'q4_0', rows: number, cols: number, s: number) => {
    const dense = denseMatrix(randomArray(rows * cols, s, 0.1), rows, cols);
    return arena.place(format === 'f32' ? dense : quantizeMatrix(dense, format));
  };

  // T: decode, a few tokens, one tile quad and a tail, past the 64-token chunk
  test.prop([fc.constantFrom('f32', 'q8_0', 'q4_0'), fc.constantFrom(1, 3, 6, 33, 70), fc.constantFrom([64, 32], [32, 1056]), fc.integer({ min: 0, max: 1000 })], { ...PROP, numRuns: 20 })(
    'gives the bits of linear → SwiGLU → linear run one step at a time', (format, T, [D, F], s) => {
      const gateUp = place(format, 2 * F, D, s);
      const down = place(format, D, F, s + 1);
      const x = randomArray(T * D, s + 2);
      const gu = new Float32Array(T * 2 * F);
      const act = new Float32Array(T * F);
      const want = new Float32Array(T * D);
      expect(wasmLinearInto(gu, x, gateUp, T) && wasmSwiGluInto(act, gu, T, F, gateUp) && wasmLinearInto(want, act, down, T)).toBe(true);
      const got = new Float32Array(T * D).fill(NaN);
      expect(wasmSwiGluMlpInto(got, x, T, gateUp, down)).toBe(true);
      expect(got).toEqual(want);
    });

  it('declines matrices in different memories and intermediate sizes that are not a multiple of 4', () => {
    const other = new WasmWeightArena({ maxBytesPerMemory: 16 * 1024 * 1024 });
    const x = randomArray(32, 1);
    const out = new Float32Array(32);
    expect(wasmSwiGluMlpInto(out, x, 1, place('f32', 8, 32, 1), other.place(denseMatrix(randomArray(128, 2), 32, 4)))).toBe(false);
    expect(wasmSwiGluMlpInto(out, x, 1, place('f32', 6, 32, 3), place('f32', 32, 3, 4))).toBe(false);
    other.close();
  });
});
