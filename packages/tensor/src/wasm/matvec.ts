// The decode-path entry linearInto calls: runs y = W·x in the wasm kernels when W was placed in a
// WasmWeightArena (so its bytes are in wasm memory), for the formats that have a SIMD kernel.
import type { WeightMatrix } from '../matrix.ts';
import { regionOf } from './region.ts';

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
  const k = region.kernels;
  const blocks = cols / 32;
  for (let t = 0; t < T; t++) {
    region.f32.set(x.subarray(t * cols, (t + 1) * cols), scratch.x / 4);
    if (w.format === 'f32') {
      k.f32_matvec(w.data.byteOffset, scratch.x, scratch.y, rows, cols);
    } else {
      k.quantize_x_i16(scratch.x, blocks, scratch.xq, scratch.xs);
      const matvec = w.format === 'q8_0' ? k.q8_0_matvec : k.q4_0_matvec;
      matvec(w.data.byteOffset, rows, blocks, scratch.xq, scratch.xs, scratch.y, region.table);
    }
    out.set(region.f32.subarray(scratch.y / 4, scratch.y / 4 + rows), t * rows);
  }
  return true;
}
