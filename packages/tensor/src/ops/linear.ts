// linearInto: the one projection model code calls (every q/k/v/o, MLP and head matmul), for every
// WeightMatrix format. out[T, rows] = x[T, cols] · Wᵀ (+ bias), like torch.nn.functional.linear.
import { ShapeError } from '../errors.ts';
import { dequantizeMatrix, matrixRowInto, quantizedRowBytes, type QuantizedMatrix, type WeightMatrix } from '../matrix.ts';
import { blockFormat } from '../quant/registry.ts';
import { assertDim, assertLength, assertMinLength } from '../shape.ts';
import { abtInto, matvecRefInto } from './matmul.ts';
import { wasmLinearInto } from '../wasm/linear.ts';

// From this many token rows on, decoding a few weight rows to f32 once and reusing them for every
// token (the register-tiled kernel) beats per-token block dots.
const PANEL_MIN_T = 4;
// Weight rows decoded per panel: PANEL_ROWS · cols f32 stay in L2 while all T token rows pass.
const PANEL_ROWS = 16;

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
 * kernel. Quantized weights are never expanded: decoding (T < 4) dots each row's blocks with x
 * (`BlockFormat.matvecInto`/`dotRow`, one scale multiply per block); prefill (T >= 4) decodes 16 rows
 * at a time into a small f32 panel and reuses it for all T tokens. Weights placed in wasm memory by a
 * WasmWeightArena run the SIMD128 kernels of ../wasm/ instead (f32, f16, q8_0, q4_0 and q4_k / q5_k / q6_k,
 * decode and prefill).
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
  if (wasmLinearInto(out, x, w, T)) {
    // weights placed in wasm memory (WasmWeightArena): the SIMD128 kernels ran
  } else if (w.format === 'f32') abtInto(out, x, w.data, T, rows, cols);
  else if (T < PANEL_MIN_T && w.layout !== 'row-groups') quantizedDecodeInto(out, x, w, T);
  else quantizedPanelsInto(out, x, w, T);
  if (bias !== undefined) {
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < rows; r++) out[t * rows + r] += bias[r];
    }
  }
}

/** Decode path (T < 4): block-by-block dots straight from the GGUF bytes, never expanding a row. */
function quantizedDecodeInto(out: Float32Array, x: Float32Array, w: QuantizedMatrix, T: number): void {
  const { rows, cols } = w;
  const f = blockFormat(w.format);
  const rowBytes = quantizedRowBytes(w.format, cols);
  for (let t = 0; t < T; t++) {
    if (f.matvecInto) {
      f.matvecInto(out.subarray(t * rows, (t + 1) * rows), w.data, rows, cols, x, t * cols);
    } else {
      for (let r = 0; r < rows; r++) out[t * rows + r] = f.dotRow(w.data, r * rowBytes, x, t * cols, cols);
    }
  }
}

/**
 * Prefill path (T >= 4): dequantize PANEL_ROWS weight rows into a small f32 scratch (never the whole
 * matrix), then multiply every token row by that panel with the tiled f32 kernel.
 */
function quantizedPanelsInto(out: Float32Array, x: Float32Array, w: QuantizedMatrix, T: number): void {
  const { rows, cols } = w;
  const panel = new Float32Array(PANEL_ROWS * cols); // [PANEL_ROWS, cols]
  for (let r0 = 0; r0 < rows; r0 += PANEL_ROWS) {
    const n = Math.min(PANEL_ROWS, rows - r0);
    for (let p = 0; p < n; p++) matrixRowInto(panel.subarray(p * cols, (p + 1) * cols), w, r0 + p);
    abtInto(out, x, panel, T, n, cols, rows, r0); // out[:, r0 .. r0+n) = x · panelᵀ
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
