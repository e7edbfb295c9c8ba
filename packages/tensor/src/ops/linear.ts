// linearInto: the one projection model code calls (every q/k/v/o, MLP and head matmul), for every
// WeightMatrix format. out[T, rows] = x[T, cols] · Wᵀ (+ bias), like torch.nn.functional.linear.
import { ShapeError } from '../errors.ts';
import { dequantizeMatrix, quantizedRowBytes, type WeightMatrix } from '../matrix.ts';
import { blockFormat } from '../quant/registry.ts';
import { assertDim, assertLength, assertMinLength } from '../shape.ts';
import { abtInto, matvecRefInto } from './matmul.ts';

function assertLinear(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number, bias: Float32Array | undefined, op: string): void {
  assertDim(T, `${op} T`);
  assertMinLength(x, T * w.cols, `${op} x [T=${T}, cols=${w.cols}]`);
  assertMinLength(out, T * w.rows, `${op} out [T=${T}, rows=${w.rows}]`);
  if (bias !== undefined) assertLength(bias, w.rows, `${op} bias`);
  if (x.buffer === out.buffer && x.byteOffset < out.byteOffset + T * w.rows * 4 && out.byteOffset < x.byteOffset + T * w.cols * 4) {
    throw new ShapeError(`${op}: out must not overlap x`);
  }
}

/**
 * out[t, r] = Σ_c x[t, c] · W[r, c] (+ bias[r]). Dense weights use the register-tiled `abtInto`
 * kernel; quantized weights are multiplied block by block (`BlockFormat.dotRow`), never expanded.
 * Buffers may be longer than needed (preallocated scratch); only the first T rows are read/written.
 * @param out  [T, rows] f32 (written; must not overlap x)
 * @param x    [T, cols] f32
 * @param w    [rows, cols] any format
 * @param T    number of token rows
 * @param bias [rows] f32, optional
 */
export function linearInto(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number, bias?: Float32Array): void {
  assertLinear(out, x, w, T, bias, 'linearInto');
  const { rows, cols } = w;
  if (w.format === 'f32') {
    abtInto(out, x, w.data, T, rows, cols);
  } else {
    const f = blockFormat(w.format);
    const rowBytes = quantizedRowBytes(w.format, cols);
    for (let r = 0; r < rows; r++) {
      // One weight row against every token row: the row's blocks stay in cache across t.
      for (let t = 0; t < T; t++) out[t * rows + r] = f.dotRow(w.data, r * rowBytes, x, t * cols, cols);
    }
  }
  if (bias !== undefined) {
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < rows; r++) out[t * rows + r] += bias[r];
    }
  }
}

/**
 * Reference for linearInto: dequantizes the whole matrix, then the naive matvec per token row.
 * Same arguments and shapes as linearInto.
 */
export function linearRefInto(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number, bias?: Float32Array): void {
  assertLinear(out, x, w, T, bias, 'linearRefInto');
  const dense = w.format === 'f32' ? w.data : dequantizeMatrix(w);
  for (let t = 0; t < T; t++) {
    const y = out.subarray(t * w.rows, (t + 1) * w.rows);
    matvecRefInto(y, dense, x.subarray(t * w.cols, (t + 1) * w.cols), w.rows, w.cols);
    if (bias !== undefined) for (let r = 0; r < w.rows; r++) y[r] += bias[r];
  }
}
