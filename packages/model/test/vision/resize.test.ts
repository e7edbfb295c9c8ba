import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { bilinearTaps, resizeBilinearPillow } from '../../src/vision/pillow-resize.ts';
import { resizeBicubicTorch } from '../../src/vision/bicubic.ts';
import type { RgbImage } from '../../src/vision/image.ts';

const imageArb = fc
  .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) })
  .chain(({ width, height }) =>
    fc.uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 }).map((data): RgbImage => ({ width, height, data })),
  );
const sizeArb = fc.integer({ min: 1, max: 40 });

/** Naive float64 separable triangle filter (PIL's definition), rounded once per pass. */
function naiveBilinearPass(img: RgbImage, out: number, axis: 'x' | 'y'): RgbImage {
  const inSize = axis === 'x' ? img.width : img.height;
  const scale = inSize / out;
  const fs = Math.max(scale, 1);
  const w = axis === 'x' ? out : img.width;
  const h = axis === 'x' ? img.height : out;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = axis === 'x' ? x : y;
      const center = (o + 0.5) * scale;
      for (let c = 0; c < 3; c++) {
        let num = 0;
        let den = 0;
        for (let i = 0; i < inSize; i++) {
          const wt = Math.max(0, 1 - Math.abs((i + 0.5 - center) / fs));
          const v = axis === 'x' ? img.data[(y * img.width + i) * 3 + c] : img.data[(i * img.width + x) * 3 + c];
          num += wt * v;
          den += wt;
        }
        data[(y * w + x) * 3 + c] = Math.round(num / den);
      }
    }
  }
  return { width: w, height: h, data };
}

describe('Pillow bilinear resize', () => {
  test.prop([imageArb, sizeArb, sizeArb], { seed: 7, numRuns: 60 })('is within one level per pass of a float64 triangle filter', (img, ow, oh) => {
    const fast = resizeBilinearPillow(img, ow, oh);
    let ref = img;
    if (ow !== ref.width) ref = naiveBilinearPass(ref, ow, 'x');
    if (oh !== ref.height) ref = naiveBilinearPass(ref, oh, 'y');
    expect([fast.width, fast.height]).toEqual([ow, oh]);
    // each pass may round differently by one level; two passes compound to at most 2
    for (let i = 0; i < fast.data.length; i++) expect(Math.abs(fast.data[i] - ref.data[i])).toBeLessThanOrEqual(2);
  });

  test.prop([imageArb], { seed: 8, numRuns: 30 })('returns an equal copy when the size does not change', (img) => {
    const out = resizeBilinearPillow(img, img.width, img.height);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });

  test.prop([fc.integer({ min: 0, max: 255 }), sizeArb, sizeArb, sizeArb, sizeArb], { seed: 9, numRuns: 60 })(
    'keeps a constant image constant',
    (v, w, h, ow, oh) => {
      const img: RgbImage = { width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) };
      expect(resizeBilinearPillow(img, ow, oh).data.every((x) => x === v)).toBe(true);
    },
  );

  it('uses 22-bit fixed-point taps that sum to about 2^22', () => {
    const taps = bilinearTaps(30, 672);
    for (let o = 0; o < 672; o++) {
      let sum = 0;
      for (let k = 0; k < taps.count[o]; k++) sum += taps.coeffs[o * taps.maxTaps + k];
      expect(Math.abs(sum - 2 ** 22)).toBeLessThanOrEqual(taps.count[o]);
    }
  });
});

/** Naive float64 bicubic (A = −0.75, align_corners=False, clamped borders), torch's definition. */
function naiveBicubic(src: Float32Array, inH: number, inW: number, outH: number, outW: number): Float64Array {
  const A = -0.75;
  const cubic = (x: number): number => {
    const a = Math.abs(x);
    if (a <= 1) return ((A + 2) * a - (A + 3)) * a * a + 1;
    if (a < 2) return ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
    return 0;
  };
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const ry = (inH / outH) * (y + 0.5) - 0.5;
    const y0 = Math.floor(ry);
    for (let x = 0; x < outW; x++) {
      const rx = (inW / outW) * (x + 0.5) - 0.5;
      const x0 = Math.floor(rx);
      let acc = 0;
      for (let i = -1; i <= 2; i++) {
        for (let j = -1; j <= 2; j++) {
          const yy = Math.min(Math.max(y0 + i, 0), inH - 1);
          const xx = Math.min(Math.max(x0 + j, 0), inW - 1);
          acc += cubic(ry - (y0 + i)) * cubic(rx - (x0 + j)) * src[yy * inW + xx];
        }
      }
      out[y * outW + x] = acc;
    }
  }
  return out;
}

describe('torch bicubic interpolate', () => {
  const planeArb = (h: number, w: number) => fc.float32Array({ minLength: h * w, maxLength: h * w, min: -3, max: 3, noNaN: true, noDefaultInfinity: true });

  test.prop(
    [
      fc
        .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }))
        .chain(([sy, sx, oh, ow]) => fc.tuple(fc.constant([sy, sx, oh, ow] as const), planeArb(sy * oh, sx * ow))),
    ],
    { seed: 11, numRuns: 60 },
  )('matches a float64 bicubic for integer downscales to float32 precision', ([[sy, sx, oh, ow], src]) => {
    const fast = resizeBicubicTorch(src, 1, sy * oh, sx * ow, oh, ow);
    const ref = naiveBicubic(src, sy * oh, sx * ow, oh, ow);
    for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i] - ref[i])).toBeLessThanOrEqual(1e-5);
  });

  test.prop([fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })], {
    seed: 12,
    numRuns: 40,
  })('matches a float64 bicubic for arbitrary sizes', (ih, iw, oh, ow) => {
    const src = Float32Array.from({ length: ih * iw }, (_, i) => Math.fround(Math.sin(i * 1.7)));
    const fast = resizeBicubicTorch(src, 1, ih, iw, oh, ow);
    const ref = naiveBicubic(src, ih, iw, oh, ow);
    for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i] - ref[i])).toBeLessThanOrEqual(1e-5);
  });

  it('picks source pixels exactly for odd scale factors (3x: pixel 3i+1)', () => {
    const src = Float32Array.from({ length: 2 * 9 * 6 }, (_, i) => Math.fround(Math.cos(i)));
    const out = resizeBicubicTorch(src, 2, 9, 6, 3, 2);
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) expect(out[(c * 3 + y) * 2 + x]).toBe(src[(c * 9 + 3 * y + 1) * 6 + 3 * x + 1]);
    }
  });
});
