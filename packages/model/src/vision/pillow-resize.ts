/**
 * Pillow's 8-bit BILINEAR resize (`Image.resize(size, Image.BILINEAR)`, which torchvision's
 * `F.resize` calls for PIL images), re-implemented bit for bit: Pillow 9.x
 * `libImaging/Resample.c` (`precompute_coeffs`, `normalize_coeffs_8bpc`,
 * `ImagingResampleHorizontal_8bpc` / `Vertical_8bpc`). See phi3v-notes.md §4.1.
 */
import type { RgbImage } from './image.ts';

/** Fixed-point precision of the 8-bit passes (`PRECISION_BITS = 32 - 8 - 2` in Resample.c). */
const PRECISION_BITS = 22;

/** Integer filter taps for one output coordinate: `out = Σ coeffs[k] · in[first + k]`. */
export interface ResampleTaps {
  /** first input index of each output (`xmin`) */
  readonly first: Int32Array;
  /** taps per output (`xmax - xmin`) */
  readonly count: Int32Array;
  /** [outSize, maxTaps] fixed-point coefficients, zero-filled */
  readonly coeffs: Int32Array;
  readonly maxTaps: number;
}

/** Pillow's `bilinear_filter`: the triangle kernel, support 1. */
function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/**
 * Filter taps for resampling `inSize` samples to `outSize` with the triangle filter (float64 weights,
 * normalised, then rounded to 22-bit fixed point exactly like `normalize_coeffs_8bpc`).
 */
export function bilinearTaps(inSize: number, outSize: number): ResampleTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking (antialias)
  const support = 1 * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const coeffs = new Int32Array(outSize * maxTaps);
  const w = new Float64Array(maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5)); // C `(int)` truncates
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const n = xmax - xmin;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      w[k] = triangle((xmin + k - center + 0.5) / filterScale);
      sum += w[k];
    }
    for (let k = 0; k < n; k++) {
      const wk = sum !== 0 ? w[k] / sum : w[k];
      // `(int)(0.5 + w * 2^22)` for w >= 0, `(int)(-0.5 + w * 2^22)` otherwise
      coeffs[o * maxTaps + k] = Math.trunc(wk < 0 ? wk * 2 ** PRECISION_BITS - 0.5 : wk * 2 ** PRECISION_BITS + 0.5);
    }
    first[o] = xmin;
    count[o] = n;
  }
  return { first, count, coeffs, maxTaps };
}

/** `clip8`: drop the fixed-point fraction (the caller pre-added one half) and clamp to u8. */
function clip8(acc: number): number {
  const v = Math.floor(acc / 2 ** PRECISION_BITS); // acc may exceed 2^31, so no `>>`
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * One separable pass along x (`axis = 'x'`) or y, rounding to u8 like Pillow's 8-bit passes.
 * @param img [H, W, 3] u8
 * @returns [H, outSize, 3] or [outSize, W, 3] u8
 */
function resamplePass(img: RgbImage, outSize: number, axis: 'x' | 'y'): RgbImage {
  const inSize = axis === 'x' ? img.width : img.height;
  const taps = bilinearTaps(inSize, outSize);
  const width = axis === 'x' ? outSize : img.width;
  const height = axis === 'x' ? img.height : outSize;
  const out = new Uint8Array(width * height * 3);
  const src = img.data;
  // step between neighbouring input samples along the resampled axis, in bytes
  const step = axis === 'x' ? 3 : img.width * 3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = axis === 'x' ? x : y;
      const base = axis === 'x' ? (y * img.width + taps.first[o]) * 3 : (taps.first[o] * img.width + x) * 3;
      const kOff = o * taps.maxTaps;
      for (let c = 0; c < 3; c++) {
        let acc = 1 << (PRECISION_BITS - 1); // rounding half
        for (let k = 0; k < taps.count[o]; k++) acc += taps.coeffs[kOff + k] * src[base + k * step + c];
        out[(y * width + x) * 3 + c] = clip8(acc);
      }
    }
  }
  return { width, height, data: out };
}

/**
 * Pillow BILINEAR resize of an 8-bit RGB image: horizontal pass first, then vertical, each skipped
 * when that size does not change; the intermediate image is u8 (which is why order matters).
 * @param img [H, W, 3] u8
 * @returns [outH, outW, 3] u8
 */
export function resizeBilinearPillow(img: RgbImage, outW: number, outH: number): RgbImage {
  let cur = img;
  if (outW !== cur.width) cur = resamplePass(cur, outW, 'x');
  if (outH !== cur.height) cur = resamplePass(cur, outH, 'y');
  return cur === img ? { width: img.width, height: img.height, data: img.data.slice() } : cur;
}
