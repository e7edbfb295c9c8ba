/**
 * torch's `F.interpolate(x, size, mode="bicubic", align_corners=False)` on float32 CPU tensors (no
 * antialias), reproduced bit for bit: torch 1.13 `aten/src/ATen/native/cpu/UpSampleKernel.cpp`
 * (`compute_indices_weights_cubic`, `Interpolate<>::eval`). See phi3v-notes.md §4.2.
 */

/** Cubic convolution parameter used by torch's bicubic mode (`get_cubic_upsample_coefficients`). */
const CUBIC_A = -0.75;
const f32 = Math.fround;

/** The 4 source indices (clamped) and float32 weights of one output coordinate. */
interface CubicTaps {
  readonly index: Int32Array; // [outSize, 4]
  readonly weight: Float32Array; // [outSize, 4]
}

/** torch's two cubic kernel branches, evaluated in float32 like `scalar_t = float`. */
function cubicNear(x: number): number {
  // ((A + 2) * x - (A + 3)) * x * x + 1, for |x| <= 1
  return f32(f32(f32(f32(f32((CUBIC_A + 2) * x) - (CUBIC_A + 3)) * x) * x) + 1);
}
function cubicFar(x: number): number {
  // ((A * x - 5A) * x + 8A) * x - 4A, for 1 < |x| < 2
  return f32(f32(f32(f32(f32(f32(CUBIC_A * x) - 5 * CUBIC_A) * x) + 8 * CUBIC_A) * x) - 4 * CUBIC_A);
}

/** Taps for one axis: source coordinate `scale·(o + 0.5) − 0.5` (not clamped for cubic), float32. */
function cubicTaps(inSize: number, outSize: number): CubicTaps {
  const scale = f32(inSize / outSize); // area_pixel_compute_scale<float>
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    // area_pixel_compute_source_index: `scale * (o + 0.5) - 0.5` in double, returned as float
    const real = f32(scale * (o + 0.5) - 0.5);
    // guard_index_and_lambda
    const i0 = Math.min(Math.floor(real), inSize - 1);
    const t = Math.min(Math.max(f32(real - i0), 0), 1);
    const t2 = f32(1 - t);
    const w = [cubicFar(f32(t + 1)), cubicNear(t), cubicNear(t2), cubicFar(f32(t2 + 1))];
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      weight[o * 4 + k] = w[k];
    }
  }
  return { index, weight };
}

/**
 * Combines 4 taps as torch 1.13's vectorised CPU kernel does after FMA contraction:
 * `o = v1·w1; o = fma(v0, w0, o); o = fma(v2, w2, o); o = fma(v3, w3, o)` (float32). The product
 * of two float32 values is exact in a double, so `fround(a*b + o)` is the fused result.
 */
function combine4(v: ArrayLike<number>, w: Float32Array, wOff: number): number {
  let o = f32(v[1] * w[wOff + 1]);
  o = f32(v[0] * w[wOff] + o);
  o = f32(v[2] * w[wOff + 2] + o);
  o = f32(v[3] * w[wOff + 3] + o);
  return o;
}

/**
 * Bicubic resize of planar float32 channels.
 * @param src [C, inH, inW] f32
 * @returns [C, outH, outW] f32
 */
export function resizeBicubicTorch(
  src: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  const rows = cubicTaps(inH, outH);
  const cols = cubicTaps(inW, outW);
  const out = new Float32Array(channels * outH * outW);
  const rowValues = new Float64Array(4);
  const colValues = new Float64Array(4);
  for (let c = 0; c < channels; c++) {
    const plane = c * inH * inW;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        // for each of the 4 row taps, combine its 4 column taps; then combine the 4 rows
        for (let r = 0; r < 4; r++) {
          const rowOff = plane + rows.index[y * 4 + r] * inW;
          for (let k = 0; k < 4; k++) colValues[k] = src[rowOff + cols.index[x * 4 + k]];
          rowValues[r] = combine4(colValues, cols.weight, x * 4);
        }
        out[(c * outH + y) * outW + x] = combine4(rowValues, rows.weight, y * 4);
      }
    }
  }
  return out;
}
