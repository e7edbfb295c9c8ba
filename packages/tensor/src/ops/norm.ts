// Normalisations over the last dimension of [T, D] f32 activations. Statistics are computed in JS
// doubles and the result rounded to f32 on store.
import { ShapeError } from '../errors.ts';
import { assertDim, assertLength } from '../shape.ts';

function assertNormShapes(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, D: number, op: string): void {
  assertDim(T, `${op} T`);
  assertDim(D, `${op} D`);
  if (D === 0 && T > 0) throw new ShapeError(`${op}: D must be >= 1 when T > 0`);
  assertLength(x, T * D, `${op} x`);
  assertLength(out, T * D, `${op} out`);
  assertLength(weight, D, `${op} weight`);
}

/**
 * RMSNorm (HF `Phi3RMSNorm.forward`): y = w ⊙ x / sqrt(mean(x²) + eps) — eps inside the sqrt.
 * `out` may alias `x`.
 * @param out    [T, D] f32 (written)
 * @param x      [T, D] f32
 * @param weight [D] f32
 */
export function rmsNormInto(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, D: number, eps: number): void {
  assertNormShapes(out, x, weight, T, D, 'rmsNormInto');
  for (let t = 0; t < T; t++) {
    const off = t * D; // row t of [T, D]
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[off + j] * x[off + j];
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let j = 0; j < D; j++) out[off + j] = weight[j] * (x[off + j] * inv);
  }
}

/**
 * LayerNorm (torch.nn.LayerNorm): y = (x - mean) / sqrt(var + eps) ⊙ w + b with the biased
 * variance (divide by D). `out` may alias `x`.
 * @param out    [T, D] f32 (written)
 * @param x      [T, D] f32
 * @param weight [D] f32
 * @param bias   [D] f32
 */
export function layerNormInto(
  out: Float32Array, x: Float32Array, weight: Float32Array, bias: Float32Array, T: number, D: number, eps: number,
): void {
  assertNormShapes(out, x, weight, T, D, 'layerNormInto');
  assertLength(bias, D, 'layerNormInto bias');
  for (let t = 0; t < T; t++) {
    const off = t * D;
    let sum = 0;
    for (let j = 0; j < D; j++) sum += x[off + j];
    const mean = sum / D;
    let sq = 0; // two-pass variance: no cancellation for large means
    for (let j = 0; j < D; j++) {
      const d = x[off + j] - mean;
      sq += d * d;
    }
    const inv = 1 / Math.sqrt(sq / D + eps);
    for (let j = 0; j < D; j++) out[off + j] = (x[off + j] - mean) * inv * weight[j] + bias[j];
  }
}
