// The decode-path entry linearInto calls: runs y = W·x in the wasm kernels when W was placed in a
// WasmWeightArena (so its bytes are in wasm memory), for the formats that have a SIMD kernel.
import type { WeightMatrix } from '../matrix.ts';
import type { ParallelKernel } from '../parallel/protocol.ts';
import { regionOf } from './region.ts';

/** Below this many rows a matvec is too short to be worth a hand-off to worker threads. */
const PARALLEL_MIN_ROWS = 64;

/** Formats with a SIMD128 matvec. */
const WASM_FORMATS = new Set(['f32', 'q8_0', 'q4_0']);

/** True when linearInto can run w's decode matvec in wasm. */
export function isWasmResident(w: WeightMatrix): boolean {
  return WASM_FORMATS.has(w.format) && regionOf(w.data) !== undefined;
}

/**
 * out[t, :] = W · x[t, :] for t < T, in wasm. Only the activations are copied (x in, y out; cols + rows
 * floats per token); the weights are read where they lie. q8_0/q4_0 quantize each activation block to
 * int16 first (kernels/quantize-x.ts), an error of at most 1.5e-5 of the block's largest |x|.
 * Returns false (doing nothing) when w is not wasm-resident or its memory has no room for scratch.
 * @param out [T, rows] f32 (written)
 * @param x   [T, cols] f32
 * @param w   [rows, cols] placed by WasmWeightArena.place
 */
export function wasmMatvecInto(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number): boolean {
  const region = regionOf(w.data);
  if (region === undefined || !WASM_FORMATS.has(w.format)) return false;
  const { rows, cols } = w;
  if (rows === 0 || cols === 0) {
    out.fill(0, 0, T * rows);
    return true;
  }
  const scratch = region.scratchFor(rows, cols);
  if (scratch === undefined) return false;
  const blocks = cols / 32;
  const kernel = `${w.format}_matvec` as ParallelKernel;
  const rowBytes = w.format === 'f32' ? cols * 4 : blocks * (w.format === 'q8_0' ? 34 : 18);
  /** Kernel arguments for rows [r0, r0 + n). */
  const argsFor = (r0: number, n: number): number[] => {
    const wAt = w.data.byteOffset + r0 * rowBytes; // may exceed 2^31: i32 arguments wrap, wasm reads them unsigned
    const yAt = scratch.y + 4 * r0;
    return kernel === 'f32_matvec' ? [wAt, scratch.x, yAt, n, cols] : [wAt, n, blocks, scratch.xq, scratch.xs, yAt, region.table];
  };
  const run = region.kernels[kernel] as (...args: number[]) => void;
  const parallel = rows >= PARALLEL_MIN_ROWS ? region.parallel : undefined;
  for (let t = 0; t < T; t++) {
    region.f32.set(x.subarray(t * cols, (t + 1) * cols), scratch.x / 4);
    if (kernel !== 'f32_matvec') region.kernels.quantize_x_i16(scratch.x, blocks, scratch.xq, scratch.xs);
    if (parallel === undefined) {
      run(...argsFor(0, rows));
    } else {
      // equal slices of whole 4-row groups; the main thread takes the first, workers the rest
      const { pool, index } = parallel;
      const slice = Math.ceil(rows / (pool.helpers + 1) / 4) * 4;
      const started: number[] = [];
      for (let i = 0; i < pool.helpers; i++) {
        const r0 = slice * (i + 1);
        if (r0 >= rows) break;
        pool.start(i, index, kernel, argsFor(r0, Math.min(slice, rows - r0)));
        started.push(i);
      }
      run(...argsFor(0, Math.min(slice, rows)));
      for (const i of started) pool.wait(i);
    }
    out.set(region.f32.subarray(scratch.y / 4, scratch.y / 4 + rows), t * rows);
  }
  return true;
}
