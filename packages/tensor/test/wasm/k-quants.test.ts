// The Q4_K / Q5_K / Q6_K SIMD128 kernels (kernels/k-quant-matvec.ts; Q4_K also against int8
// activations) against the TypeScript block codecs (quant/q4_k.ts, q5_k.ts, q6_k.ts), on matrices of
// random block bytes (there is no K-quant writer): random codes, 6-bit / int8 sub-block scales and
// mins, and finite f16 super-block scales of either sign.
import { afterAll, describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { dequantizeMatrix, quantizedMatrix, type QuantizedMatrix } from '../../src/matrix.ts';
import { linearInto } from '../../src/ops/linear.ts';
import { blockFormat } from '../../src/quant/registry.ts';
import { createRng } from '../../src/random.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { isWasmResident, wasmLinearInto } from '../../src/wasm/linear.ts';
import { X_CODE_MAX, X_CODE_MAX_I8 } from '../../src/wasm/kernels/quantize-x.ts';
import { tilePanelBytes } from '../../src/wasm/kernels/quant-tiles.ts';
import { quantizeActivationsRef } from '../../src/wasm/reference.ts';
import { regionOf } from '../../src/wasm/region.ts';
import { relaxedSimdAvailable } from '../../src/wasm/relaxed.ts';
import { F32_EPS, PROP, randomArray } from '../helpers.ts';

const one = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
const two = new WasmWeightArena({ threads: 2, maxBytesPerMemory: 64 * 1024 * 1024, parallelMinWork: 0 }); // split every product
afterAll(() => {
  one.close();
  two.close();
});

type KFormat = 'q4_k' | 'q5_k' | 'q6_k';
/** Byte offsets of the f16 super-block scales in each block: Q4_K / Q5_K d and dmin; Q6_K d (at the end). */
const F16_AT: Record<KFormat, number[]> = { q4_k: [0, 2], q5_k: [0, 2], q6_k: [208] };

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const rows = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 13, max: 20 }));

/** A [rows, 256·superBlocks] matrix of random blocks; f16 scales have exponents 2^-14 … 2^-7, random sign. */
function randomKMatrix(format: KFormat, r: number, superBlocks: number, s: number): QuantizedMatrix {
  const { blockBytes } = blockFormat(format);
  const rng = createRng(s);
  const data = Uint8Array.from({ length: r * superBlocks * blockBytes }, () => Math.floor(rng.next() * 256));
  for (let o = 0; o < data.length; o += blockBytes) {
    for (const at of F16_AT[format]) {
      const bits = (rng.next() < 0.5 ? 0x8000 : 0) | ((1 + Math.floor(rng.next() * 8)) << 10) | Math.floor(rng.next() * 1024);
      data[o + at] = bits & 0xff;
      data[o + at + 1] = bits >> 8;
    }
  }
  return quantizedMatrix(format, data, r, 256 * superBlocks);
}

/**
 * Σ |terms| the kernel rounds, per element: |w · x̂| for Q6_K; for Q4_K / Q5_K the two terms it computes
 * apart, |d·sc·q · x̂| + |dmin·m · x̂| (they may cancel in w), from W and its mins-only copy M: d·sc·q = w − M.
 */
function termMagnitudes(w: QuantizedMatrix): Float32Array {
  const dense = dequantizeMatrix(w);
  if (w.format === 'q6_k') return dense.map(Math.abs);
  const minsOnly = new Uint8Array(w.data);
  const { blockBytes } = blockFormat(w.format);
  for (let o = 0; o < minsOnly.length; o += blockBytes) minsOnly.fill(0, o + 16, o + blockBytes); // codes (Q5_K: qh and qs) after d, dmin, scales
  const mins = dequantizeMatrix({ ...w, data: minsOnly });
  return dense.map((v, i) => Math.abs(v - mins[i]) + Math.abs(mins[i]));
}

/** The K-quant kernels and the activation codes each reads (int16, or int8 for the _i8 ones). */
interface KKernel {
  readonly kernel: 'q4_k_matvec' | 'q5_k_matvec' | 'q6_k_matvec' | 'q4_k_i8_matvec' | 'q5_k_i8_matvec';
  readonly format: KFormat;
  readonly codeMax: number;
}
const K_KERNELS: KKernel[] = [
  { kernel: 'q4_k_matvec', format: 'q4_k', codeMax: X_CODE_MAX },
  { kernel: 'q5_k_matvec', format: 'q5_k', codeMax: X_CODE_MAX },
  { kernel: 'q6_k_matvec', format: 'q6_k', codeMax: X_CODE_MAX },
  ...(relaxedSimdAvailable() ? [
    { kernel: 'q4_k_i8_matvec', format: 'q4_k', codeMax: X_CODE_MAX_I8 } as const,
    { kernel: 'q5_k_i8_matvec', format: 'q5_k', codeMax: X_CODE_MAX_I8 } as const,
  ] : []),
];
/** What linearInto runs each format with: Q4_K / Q5_K against int8 activations where relaxed SIMD is available. */
const DISPATCHED: Record<KFormat, KKernel['kernel']> = relaxedSimdAvailable()
  ? { q4_k: 'q4_k_i8_matvec', q5_k: 'q5_k_i8_matvec', q6_k: 'q6_k_matvec' }
  : { q4_k: 'q4_k_matvec', q5_k: 'q5_k_matvec', q6_k: 'q6_k_matvec' };

/** Runs one kernel directly (quantizer + kernel) on a placed matrix: out [T, rows]. */
function runKernel(kernel: KKernel['kernel'], placed: QuantizedMatrix, x: Float32Array, T: number): Float32Array {
  const region = regionOf(placed.data)!;
  const { rows, cols } = placed;
  const scratch = region.scratchFor(rows, cols, T)!;
  region.f32.set(x, scratch.x / 4);
  const quantize = kernel.includes('_i8_') ? region.kernels.quantize_x_i8 : region.kernels.quantize_x_i16;
  quantize(scratch.x, (T * cols) / 32, scratch.xq, scratch.xs);
  region.kernels[kernel]!(placed.data.byteOffset, rows, cols / 256, scratch.xq, scratch.xs, scratch.y, T, rows);
  return region.f32.slice(scratch.y / 4, scratch.y / 4 + T * rows);
}

/**
 * Expects got [T, rows] = dequant(W) · dequant(codeMax activations) up to f32 rounding (`adds`: the
 * roundings per element's term, a bound on the kernel's accumulation chain), and W · x within the
 * activation error bound.
 */
function expectSpec(got: Float32Array, w: QuantizedMatrix, x: Float32Array, T: number, codeMax: number, adds: number): void {
  const { rows: r, cols } = w;
  const dense = dequantizeMatrix(w);
  const magnitudes = termMagnitudes(w);
  for (let t = 0; t < T; t++) {
    const xt = x.subarray(t * cols, (t + 1) * cols);
    const { codes, scales } = quantizeActivationsRef(xt, codeMax);
    for (let i = 0; i < r; i++) {
      let spec = 0; // dequant(W) · x̂ in float64
      let exact = 0; // W · x
      let terms = 0; // Σ of the magnitudes the f32 lanes round
      let bound = 0; // |x − x̂| ≤ d_x/2 per element, so |W·x − W·x̂| ≤ Σ |w| · d_x/2
      for (let c = 0; c < cols; c++) {
        const wc = dense[i * cols + c];
        const xHat = codes[c] * scales[c >> 5];
        spec += wc * xHat;
        exact += wc * xt[c];
        terms += magnitudes[i * cols + c] * Math.abs(xHat);
        bound += (Math.abs(wc) * scales[c >> 5]) / 2;
      }
      const rounding = adds * 2 * F32_EPS * terms + 1e-30;
      expect(Math.abs(got[t * r + i] - spec)).toBeLessThanOrEqual(rounding);
      expect(Math.abs(got[t * r + i] - exact)).toBeLessThanOrEqual(bound + rounding);
    }
  }
}

describe.each(K_KERNELS)('$kernel', ({ kernel, format, codeMax }) => {
  test.prop([rows, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seed], PROP)(
    `equals dequant(W) · dequant(int${codeMax === X_CODE_MAX ? 16 : 8} activations) up to f32 rounding, and W · x within the activation error bound`,
    (r, superBlocks, T, s) => {
      const w = randomKMatrix(format, r, superBlocks, s);
      const x = randomArray(T * w.cols, s + 1);
      // per sub-block: a conversion and ≤ 3 products, then one add per super-block half and the horizontal sum
      expectSpec(runKernel(kernel, one.place(w), x, T), w, x, T, codeMax, 2 * superBlocks + 8);
    });
});

/**
 * The K-quant prefill tile kernels: Q4_K against int8 activations (relaxed SIMD), Q5_K and Q6_K against
 * int16 (so Q5_K's prefill rounds activations more finely than its int8 decode kernel).
 */
const K_TILES = [
  ...(relaxedSimdAvailable() ? [{ tiles: 'q4_k_i8_tiles', matvec: 'q4_k_i8_matvec', format: 'q4_k', codeMax: X_CODE_MAX_I8 } as const] : []),
  { tiles: 'q5_k_tiles', matvec: 'q5_k_matvec', format: 'q5_k', codeMax: X_CODE_MAX } as const,
  { tiles: 'q6_k_tiles', matvec: 'q6_k_matvec', format: 'q6_k', codeMax: X_CODE_MAX } as const,
];

/** Runs a K-quant tile kernel directly (quantizer, interleave_quads, the tiles) on a placed matrix of whole row groups: out [T, rows]. */
function runKTiles(kernel: (typeof K_TILES)[number]['tiles'], placed: QuantizedMatrix, x: Float32Array, T: number): Float32Array {
  const region = regionOf(placed.data)!;
  const { rows, cols } = placed;
  const int8 = kernel === 'q4_k_i8_tiles';
  const quads = Math.ceil(T / 4);
  const scratch = region.scratchFor(rows, cols, 4 * quads)!;
  const interleaved = region.quadScratch(4 * quads, cols)!;
  const panel = region.panelScratch(tilePanelBytes(kernel.replace('_tiles', '') as 'q4_k_i8' | 'q5_k' | 'q6_k', cols / 32), 1)!;
  region.f32.set(x, scratch.x / 4);
  (int8 ? region.kernels.quantize_x_i8 : region.kernels.quantize_x_i16)(scratch.x, (T * cols) / 32, scratch.xq, scratch.xs);
  region.kernels.interleave_quads(scratch.xq, quads, (cols * (int8 ? 1 : 2)) / 4, interleaved.xq);
  region.kernels.interleave_quads(scratch.xs, quads, 2 * (cols / 32), interleaved.xs);
  region.kernels[kernel]!(placed.data.byteOffset, rows / 4, cols / 32, interleaved.xq, interleaved.xs, scratch.y, T, rows, panel.base);
  return region.f32.slice(scratch.y / 4, scratch.y / 4 + T * rows);
}

describe.each(K_TILES)('$tiles (prefill)', ({ tiles, matvec, format, codeMax }) => {
  const groups = fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 9 })); // within and past one 16-row chunk
  const tokens = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 30, max: 34 })); // whole quads and every tail
  test.prop([groups, fc.integer({ min: 1, max: 3 }), tokens, seed], { ...PROP, numRuns: 40 })(
    `equals dequant(W) · dequant(int${codeMax === X_CODE_MAX ? 16 : 8} activations) up to f32 rounding, and W · x within the activation error bound`,
    (g, superBlocks, T, s) => {
      const w = randomKMatrix(format, 4 * g, superBlocks, s);
      const x = randomArray(T * w.cols, s + 1);
      // per sub-block: conversions, ≤ 4 products and a difference, then one add into the row's sum
      expectSpec(runKTiles(tiles, one.place(w), x, T), w, x, T, codeMax, 16 * superBlocks + 8);
    });

  test.prop([fc.integer({ min: 1, max: 3 }), seed], { ...PROP, numRuns: 10 })(
    `matches ${matvec} on the same activations up to f32 rounding`, (superBlocks, s) => {
      const w = randomKMatrix(format, 8, superBlocks, s);
      const placed = one.place(w);
      const T = 6;
      const x = randomArray(T * w.cols, s + 1);
      const got = runKTiles(tiles, placed, x, T);
      const want = runKernel(matvec, placed, x, T);
      const scale = Math.max(...want.map(Math.abs));
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-5 * scale);
    });
});

describe.each(['q4_k', 'q5_k', 'q6_k'] as const)('linearInto with placed %s weights', (format) => {
  test.prop([fc.integer({ min: 1, max: 3 }), rows, fc.integer({ min: 1, max: 2 }), seed], { ...PROP, numRuns: 20 })(
    'runs the format\'s kernel on the GGUF rows as placed', (T, r, superBlocks, s) => {
      const w = randomKMatrix(format, r, superBlocks, s);
      const placed = one.place(w);
      expect(isWasmResident(placed)).toBe(true);
      expect(isWasmResident(w)).toBe(false);
      expect(placed.data).toEqual(w.data); // byte for byte
      const x = randomArray(T * w.cols, s + 1);
      const got = new Float32Array(T * r).fill(NaN);
      expect(wasmLinearInto(got, x, placed, T)).toBe(true);
      expect(got).toEqual(runKernel(DISPATCHED[format], placed, x, T));
    });

  test.prop([fc.integer({ min: 4, max: 70 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 2 }), seed], { ...PROP, numRuns: 20 })(
    'gives the per-token results for every T (prefill, 64-token chunks): exactly, or with K-quant tiles their own spec', (T, r, superBlocks, s) => {
      const placed = one.place(randomKMatrix(format, r, superBlocks, s));
      const cols = placed.cols;
      const x = randomArray(T * cols, s + 1);
      const got = new Float32Array(T * r).fill(NaN);
      expect(wasmLinearInto(got, x, placed, T)).toBe(true);
      const want = new Float32Array(T * r);
      for (let t = 0; t < T; t++) wasmLinearInto(want.subarray(t * r), x.subarray(t * cols, (t + 1) * cols), placed, 1);
      const tiled = K_TILES.find((k) => k.format === format);
      if (tiled !== undefined && r % 4 === 0) {
        // whole row groups: prefill runs the format's tiles (sums grouped differently; Q5_K: int16 activations)
        expectSpec(got, placed, x, T, tiled.codeMax, 16 * superBlocks + 8);
      } else {
        expect(got).toEqual(want); // same integer dots and f32 order per (token, row)
      }
    });

  test.prop([fc.integer({ min: 64, max: 150 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 5 }), seed], { ...PROP, numRuns: 15 })(
    'with 2 threads splits rows over the worker and equals the single-thread result exactly', (r, superBlocks, T, s) => {
      const w = randomKMatrix(format, r, superBlocks, s);
      const x = randomArray(T * w.cols, s + 1);
      const want = new Float32Array(T * r);
      const got = new Float32Array(T * r).fill(NaN);
      linearInto(want, x, one.place(w), T);
      const jobs = two.workerJobs;
      linearInto(got, x, two.place(w), T);
      expect(got).toEqual(want);
      expect(two.workerJobs).toBe(jobs + 2); // the activation quantizer's half, then one product call for all tokens, half on the worker
    });
});
