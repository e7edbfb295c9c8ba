// The SIMD128 decode kernels against the TypeScript references, on random shapes including
// non-multiples of the 4-row and 16-column unrolls.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { denseMatrix, dequantizeMatrix, quantizeMatrix, storedInMemory, type WeightMatrix } from '../../src/matrix.ts';
import { linearInto, linearRefInto } from '../../src/ops/linear.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { isWasmResident, wasmLinearInto } from '../../src/wasm/linear.ts';
import { X_CODE_MAX, X_CODE_MAX_I8 } from '../../src/wasm/kernels/quantize-x.ts';
import { tilePanelBytes } from '../../src/wasm/kernels/quant-tiles.ts';
import { quantizeActivationsRef } from '../../src/wasm/reference.ts';
import { regionOf, WasmRegion } from '../../src/wasm/region.ts';
import { relaxedSimdAvailable } from '../../src/wasm/relaxed.ts';
import { paddedRows, rowGroupBytes } from '../../src/quant/row-groups.ts';
import { F32_EPS, PROP, randomArray } from '../helpers.ts';

const arena = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const rows = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 61, max: 67 }));

function makeMatrix(format: 'f32' | 'q8_0' | 'q4_0', r: number, c: number, s: number): WeightMatrix {
  const dense = denseMatrix(randomArray(r * c, s), r, c);
  return format === 'f32' ? dense : quantizeMatrix(dense, format);
}

/** y[r] = Σ_c w[r, c] · v[c] in float64, and Σ_c |w[r, c] · v[c]| for error bounds. */
function dot64(w: Float32Array, v: ArrayLike<number>, r: number, cols: number): { sum: number; abs: number } {
  let sum = 0;
  let abs = 0;
  for (let c = 0; c < cols; c++) {
    sum += w[r * cols + c] * v[c];
    abs += Math.abs(w[r * cols + c] * v[c]);
  }
  return { sum, abs };
}

describe('f32_matvec (T < 4) and f32_matmul (prefill tile, T ≥ 4)', () => {
  const tokens = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 63, max: 70 })); // tails, 64-token chunks
  test.prop([fc.oneof(rows, fc.integer({ min: 15, max: 40 })), fc.integer({ min: 1, max: 70 }), tokens, seed], PROP)(
    'equals the float64 product up to f32 summation order (16-row chunks, 2-row × 4-token tiles and their tails, 4-column tails)', (r, cols, T, s) => {
      const w = makeMatrix('f32', r, cols, s);
      const x = randomArray(T * cols, s + 1);
      const got = new Float32Array(T * r).fill(NaN);
      expect(wasmLinearInto(got, x, arena.place(w), T)).toBe(true);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < r; i++) {
          const { sum, abs } = dot64(w.data as Float32Array, x.subarray(t * cols), i, cols);
          expect(Math.abs(got[t * r + i] - sum)).toBeLessThanOrEqual((cols + 4) * F32_EPS * abs + 1e-30);
        }
      }
    });
});

describe('quantize_x_i16', () => {
  test.prop([fc.integer({ min: 1, max: 6 }), seed, fc.constantFrom(1, 1e-30, 1e-36, 1e30)], PROP)(
    'produces exactly the codes and scales of quantizeActivationsRef (subnormal scales: codes 0)', (blocks, s, scale) => {
      const x = randomArray(32 * blocks, s, scale);
      x[5] = 0; // zero block entries and a whole zero block below exercise d = 0
      if (blocks > 1) x.fill(0, 32, 64);
      const region = new WasmRegion(16);
      const scratch = region.scratchFor(1, x.length)!;
      region.f32.set(x, scratch.x / 4);
      region.kernels.quantize_x_i16(scratch.x, blocks, scratch.xq, scratch.xs);
      const want = quantizeActivationsRef(x);
      expect(new Int16Array(region.memory.buffer, scratch.xq, x.length)).toEqual(want.codes);
      const pairs = new DataView(region.memory.buffer, scratch.xs, 8 * blocks);
      expect(Float32Array.from({ length: blocks }, (_, b) => pairs.getFloat32(8 * b, true))).toEqual(want.scales);
      expect(Int32Array.from({ length: blocks }, (_, b) => pairs.getInt32(8 * b + 4, true))).toEqual(want.offsetSums);
    });

  it('gives a block whose scale is subnormal (1 / d overflows) zero codes, as one of zeros', () => {
    const x = new Float32Array(32).fill(1e-36);
    const { codes, scales } = quantizeActivationsRef(x);
    expect(scales[0]).toBeGreaterThan(0);
    expect(1 / scales[0]).toBeGreaterThan(3.5e38);
    expect(codes.every((c) => c === 0)).toBe(true);
  });

  it('rounds ties to even and keeps every code within ±32767', () => {
    const x = new Float32Array(32);
    x[0] = 32767; // d = 1, id = 1: codes are the values themselves
    x[1] = 2.5;
    x[2] = -3.5;
    x[3] = -32767;
    const { codes, scales } = quantizeActivationsRef(x);
    expect(scales[0]).toBe(1);
    expect([...codes.subarray(0, 4)]).toEqual([32767, 2, -4, -32767]);
  });
});

/** The group kernels and the activation codes each one reads (int16, or int8 for q4_0_i8). */
interface GroupKernel {
  readonly kernel: 'q8_0_groups' | 'q4_0_groups' | 'q4_0_i8_groups';
  readonly format: 'q8_0' | 'q4_0';
  readonly codeMax: number;
}
const GROUP_KERNELS: GroupKernel[] = [
  { kernel: 'q8_0_groups', format: 'q8_0', codeMax: X_CODE_MAX },
  { kernel: 'q4_0_groups', format: 'q4_0', codeMax: X_CODE_MAX },
  ...(relaxedSimdAvailable() ? [{ kernel: 'q4_0_i8_groups', format: 'q4_0', codeMax: X_CODE_MAX_I8 } as const] : []),
];
/** What linearInto runs Q4_0 with: the int8-activation kernel where relaxed SIMD is available. */
const Q4_0_CODE_MAX = relaxedSimdAvailable() ? X_CODE_MAX_I8 : X_CODE_MAX;

/** x with each block rounded as `codeMax` activation codes: x̂ = codes · scales. @param x [T, cols] */
function roundedActivations(x: Float32Array, codeMax: number): Float32Array {
  const { codes, scales } = quantizeActivationsRef(x, codeMax);
  return Float32Array.from(codes, (q, c) => q * scales[c >> 5]);
}

/** Runs one group kernel directly (quantizer + kernel) on a placed matrix: out [T, rows]. */
function runGroups(kernel: GroupKernel['kernel'], placed: WeightMatrix, x: Float32Array, T: number): Float32Array {
  const region = regionOf(placed.data)!;
  const { rows, cols } = placed;
  const scratch = region.scratchFor(rows, cols, T)!;
  region.f32.set(x, scratch.x / 4);
  const quantize = kernel === 'q4_0_i8_groups' ? region.kernels.quantize_x_i8 : region.kernels.quantize_x_i16;
  quantize(scratch.x, (T * cols) / 32, scratch.xq, scratch.xs);
  const stride = paddedRows(rows);
  region.kernels[kernel]!(placed.data.byteOffset, stride / 4, cols / 32, scratch.xq, scratch.xs, scratch.y, T, stride);
  const out = new Float32Array(T * rows);
  for (let t = 0; t < T; t++) out.set(region.f32.subarray(scratch.y / 4 + t * stride, scratch.y / 4 + t * stride + rows), t * rows);
  return out;
}

describe.each(GROUP_KERNELS)('$kernel', ({ kernel, format, codeMax }) => {
  const blockCounts = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 5 }), weight: 4 }, { arbitrary: fc.integer({ min: 96, max: 260 }), weight: 1 });
  test.prop([rows, blockCounts, fc.integer({ min: 1, max: 3 }), seed], PROP)(
    `equals dequant(W) · dequant(int${codeMax === X_CODE_MAX ? 16 : 8} activations) up to f32 rounding, and W · x within the activation error bound`,
    (r, blocks, T, s) => {
      const cols = 32 * blocks;
      const w = makeMatrix(format, r, cols, s);
      const dense = dequantizeMatrix(w);
      const x = randomArray(T * cols, s + 1);
      const got = runGroups(kernel, arena.place(w), x, T);
      for (let t = 0; t < T; t++) {
        const xt = x.subarray(t * cols, (t + 1) * cols);
        const { codes, scales } = quantizeActivationsRef(xt, codeMax);
        const xHat = Array.from(codes, (q, c) => q * scales[c >> 5]);
        for (let i = 0; i < r; i++) {
          const spec = dot64(dense, xHat, i, cols);
          // f32 lanes: one rounding per block product and per accumulation step
          expect(Math.abs(got[t * r + i] - spec.sum)).toBeLessThanOrEqual((blocks + 8) * 2 * F32_EPS * spec.abs + 1e-30);
          // |x − x̂| ≤ d/2 per element, so |W·x − W·x̂| ≤ Σ_c |w| · d/2
          let bound = 0;
          for (let c = 0; c < cols; c++) bound += Math.abs(dense[i * cols + c]) * scales[c >> 5] / 2;
          const exact = dot64(dense, xt, i, cols);
          expect(Math.abs(got[t * r + i] - exact.sum)).toBeLessThanOrEqual(bound + (blocks + 8) * 2 * F32_EPS * spec.abs + 1e-30);
        }
      }
    });
});

/** The prefill tile kernels, each with the group kernel that reads the same activation codes. */
const TILE_KERNELS = GROUP_KERNELS.map((g) => ({ ...g, tiles: g.kernel.replace('_groups', '_tiles') as 'q8_0_tiles' | 'q4_0_tiles' | 'q4_0_i8_tiles' }));

/** Runs one tile kernel directly (quantizer, interleave_quads, kernel) on a placed matrix: out [T, rows]. */
function runTiles(kernel: (typeof TILE_KERNELS)[number]['tiles'], placed: WeightMatrix, x: Float32Array, T: number): Float32Array {
  const region = regionOf(placed.data)!;
  const { rows, cols } = placed;
  const quads = Math.ceil(T / 4);
  const scratch = region.scratchFor(rows, cols, 4 * quads)!;
  const interleaved = region.quadScratch(4 * quads, cols)!;
  const format = kernel === 'q8_0_tiles' ? 'q8_0' : kernel === 'q4_0_tiles' ? 'q4_0' : 'q4_0_i8';
  const panel = region.panelScratch(tilePanelBytes(format, cols / 32), 1)!;
  region.f32.set(x, scratch.x / 4);
  const int8 = kernel === 'q4_0_i8_tiles';
  (int8 ? region.kernels.quantize_x_i8_halves : region.kernels.quantize_x_i16)(scratch.x, (T * cols) / 32, scratch.xq, scratch.xs);
  region.kernels.interleave_quads(scratch.xq, quads, (cols * (int8 ? 1 : 2)) / 4, interleaved.xq);
  region.kernels.interleave_quads(scratch.xs, quads, 2 * (cols / 32), interleaved.xs);
  const stride = paddedRows(rows);
  region.kernels[kernel]!(placed.data.byteOffset, stride / 4, cols / 32, interleaved.xq, interleaved.xs, scratch.y, T, stride, panel.base);
  const out = new Float32Array(T * rows);
  for (let t = 0; t < T; t++) out.set(region.f32.subarray(scratch.y / 4 + t * stride, scratch.y / 4 + t * stride + rows), t * rows);
  return out;
}

describe.each(TILE_KERNELS)('$tiles (prefill)', ({ kernel, tiles, format }) => {
  const blockCounts = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 5 }), weight: 4 }, { arbitrary: fc.integer({ min: 96, max: 130 }), weight: 1 });
  const tokens = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 30, max: 34 })); // whole quads and every tail
  test.prop([fc.oneof(rows, fc.integer({ min: 15, max: 40 })), blockCounts, tokens, seed], { ...PROP, numRuns: 40 })(
    `gives exactly what ${kernel} gives on the same activation codes (16-row chunks, 8-row × 4-token tiles, odd last groups, token tails)`, (r, blocks, T, s) => {
      const cols = 32 * blocks;
      const placed = arena.place(makeMatrix(format, r, cols, s));
      const x = randomArray(T * cols, s + 1);
      expect(runTiles(tiles, placed, x, T)).toEqual(runGroups(kernel, placed, x, T));
    });
});

describe.each(TILE_KERNELS)('$kernel and $tiles at the extremes', ({ kernel, tiles, format }) => {
  it.each([[1, 'largest'], [-1, 'largest'], [1, 'smallest'], [-1, 'smallest']] as const)(
    'stay exact with every activation code at its largest magnitude (sign %i) and every weight code at its %s: no partial sum overflows', (sign, weights) => {
      const blocks = 3;
      const cols = 32 * blocks;
      const rows = 4;
      const T = 5;
      const blockBytes = format === 'q8_0' ? 34 : 18;
      const data = new Uint8Array(rows * blocks * blockBytes);
      for (let b = 0; b < rows * blocks; b++) {
        data[b * blockBytes + 1] = 0x3c; // d = 1.0 (f16 0x3c00)
        // q = ±127 (Q8_0), or nibbles 15 / 0 (Q4_0: q = 7 / −8)
        const code = weights === 'largest' ? (format === 'q8_0' ? 127 : 0xff) : (format === 'q8_0' ? 0x81 : 0x00);
        data.fill(code, b * blockBytes + 2, (b + 1) * blockBytes);
      }
      const w: WeightMatrix = { format, rows, cols, data };
      const x = new Float32Array(T * cols).fill(sign * 3); // every activation code ±max
      const q = weights === 'largest' ? (format === 'q8_0' ? 127 : 7) : (format === 'q8_0' ? -127 : -8);
      const want = sign * 3 * cols * q;
      const placed = arena.place(w);
      for (const got of [runGroups(kernel, placed, x, T), runTiles(tiles, placed, x, T)]) {
        for (const y of got) expect(Math.abs(y - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
      }
    });
});

describe('interleave_quads', () => {
  test.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 13 })], PROP)('puts word w of token 4q + j at [q][w][j]', (quads, words) => {
    const region = new WasmRegion(16);
    const src = region.scratchFor(1, 4096)!.x;
    const dst = src + 4 * 4 * quads * words;
    const i32 = new Int32Array(region.memory.buffer);
    for (let k = 0; k < 4 * quads * words; k++) i32[src / 4 + k] = k * 7 + 1;
    region.kernels.interleave_quads(src, quads, words, dst);
    for (let q = 0; q < quads; q++) {
      for (let w = 0; w < words; w++) {
        for (let j = 0; j < 4; j++) expect(i32[dst / 4 + (q * words + w) * 4 + j]).toBe(i32[src / 4 + (4 * q + j) * words + w]);
      }
    }
  });
});

describe('a memory too full for prefill panels or the staging area', () => {
  it('falls back to the TS rearrangement and to the group kernel, with the same results', () => {
    const region = new WasmRegion(5); // 256 KiB f16 table + 64 KiB: room for the matrix and scratch only
    const [rows, cols, T] = [4, 1280, 4];
    const w = makeMatrix('q8_0', rows, cols, 11);
    const target = region.allocate(rowGroupBytes('q8_0', rows, cols))!;
    region.toRowGroups(target, storedInMemory(w)); // 1 MiB staging does not fit
    const placed: WeightMatrix = { format: 'q8_0', rows, cols, data: target, layout: 'row-groups' };
    expect(dequantizeMatrix(placed)).toEqual(dequantizeMatrix(w));
    const x = randomArray(T * cols, 12);
    const got = new Float32Array(T * rows);
    expect(wasmLinearInto(got, x, placed, T)).toBe(true); // the panel (43 KiB) does not fit
    const want = new Float32Array(T * rows);
    for (let t = 0; t < T; t++) expect(wasmLinearInto(want.subarray(t * rows), x.subarray(t * cols, (t + 1) * cols), placed, 1)).toBe(true);
    expect(got).toEqual(want);
  });
});

describe.each(['quantize_x_i8', 'quantize_x_i8_halves'] as const)('%s', (kernel) => {
  test.prop([fc.integer({ min: 1, max: 6 }), seed], PROP)('produces exactly the codes and pairs of quantizeActivationsRef(x, 127)', (blocks, s) => {
    const x = randomArray(32 * blocks, s);
    if (blocks > 1) x.fill(3, 32, 64); // a block of equal values: every code 127, the halves at −8 · 16 · 127
    const region = new WasmRegion(16);
    const scratch = region.scratchFor(1, x.length)!;
    region.f32.set(x, scratch.x / 4);
    region.kernels[kernel](scratch.x, blocks, scratch.xq, scratch.xs);
    const want = quantizeActivationsRef(x, X_CODE_MAX_I8);
    expect(Int16Array.from(new Int8Array(region.memory.buffer, scratch.xq, x.length))).toEqual(want.codes);
    const pairs = new DataView(region.memory.buffer, scratch.xs, 8 * blocks);
    expect(Float32Array.from({ length: blocks }, (_, b) => pairs.getFloat32(8 * b, true))).toEqual(want.scales);
    const second = Int32Array.from({ length: blocks }, (_, b) => pairs.getInt32(8 * b + 4, true));
    expect(second).toEqual(kernel === 'quantize_x_i8' ? want.offsetSums : want.offsetHalves);
  });
});

describe('linearInto with placed weights', () => {
  test.prop([fc.constantFrom('f32', 'q8_0', 'q4_0' as const), fc.integer({ min: 1, max: 6 }), rows, seed], { ...PROP, numRuns: 30 })(
    'runs wasm close to linearRefInto, with bias', (format, T, r, s) => {
      const cols = 64;
      const w = makeMatrix(format, r, cols, s);
      const placed = arena.place(w);
      expect(isWasmResident(placed)).toBe(true);
      expect(isWasmResident(w)).toBe(false);
      const x = randomArray(T * cols, s + 1);
      const bias = randomArray(r, s + 2);
      const got = new Float32Array(T * r);
      const want = new Float32Array(T * r);
      linearInto(got, x, placed, T, bias);
      // the reference sees the activations as the kernel does (int8-rounded for Q4_0 with relaxed SIMD)
      linearRefInto(want, format === 'q4_0' ? roundedActivations(x, Q4_0_CODE_MAX) : x, w, T, bias);
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThan(2e-3);
    });

  it('leaves ordinary JS matrices to the TypeScript kernels', () => {
    const w = makeMatrix('q8_0', 4, 32, 1);
    expect(wasmLinearInto(new Float32Array(4), randomArray(32, 2), w, 1)).toBe(false);
  });
});

describe.each(['q8_0', 'q4_0'] as const)('%s prefill through linearInto', (format) => {
  test.prop([fc.integer({ min: 4, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }), seed], { ...PROP, numRuns: 30 })(
    'gives exactly the per-token results for every T (64-token chunks, 16-row chunks, padded last groups)',
    (T, r, blocks, s) => {
      const cols = 32 * blocks;
      const placed = arena.place(makeMatrix(format, r, cols, s));
      const x = randomArray(T * cols, s + 1);
      const got = new Float32Array(T * r).fill(NaN);
      expect(wasmLinearInto(got, x, placed, T)).toBe(true);
      const want = new Float32Array(T * r);
      for (let t = 0; t < T; t++) wasmLinearInto(want.subarray(t * r), x.subarray(t * cols, (t + 1) * cols), placed, 1);
      expect(got).toEqual(want); // same integer dots, scales and f32 accumulation order per (token, row)
    });
});
