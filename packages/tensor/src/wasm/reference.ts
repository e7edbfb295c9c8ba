// TypeScript spec of the wasm activation quantizer (kernels/quantize-x.ts), bit for bit: property tests
// check the SIMD quantized matvecs against dequant(W) · dequant(quantizeActivationsRef(x)).
import { X_CODE_MAX } from './kernels/quantize-x.ts';

/** Largest finite f32. */
const F32_MAX = 3.4028234663852886e38;

/** Round half to even, as f32x4.nearest (IEEE roundTiesToEven). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Per block of 32: d = f32(amax / codeMax), id = f32(1 / d) when finite else 0 (d = 0 or subnormal),
 * code = nearest-even(f32(x · id))
 * clamped to int16 (codeMax 32767: quantize_x_i16; 127: quantize_x_i8, whose codes stay within ±127).
 * @param x [n] f32, n a multiple of 32
 * @returns codes [n] i16, scales [n / 32] f32 (x ≈ codes[i] · scales[i / 32]), offsetSums [n / 32]
 *   i32 = 8 · Σ codes of each block, and offsetHalves [n / 32] i32 = quantize_x_i8_halves' word: the
 *   i16 pair (−8 Σ codes j ≡ 0, 1 mod 4 in the low half, −8 Σ codes j ≡ 2, 3 mod 4 in the high half)
 */
export function quantizeActivationsRef(x: Float32Array, codeMax: number = X_CODE_MAX): {
  codes: Int16Array; scales: Float32Array; offsetSums: Int32Array; offsetHalves: Int32Array;
} {
  const f = Math.fround;
  const codes = new Int16Array(x.length);
  const scales = new Float32Array(x.length / 32);
  const offsetSums = new Int32Array(x.length / 32);
  const offsetHalves = new Int32Array(x.length / 32);
  for (let b = 0; b < scales.length; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
    const d = f(amax / codeMax);
    const inverse = f(1 / d);
    const id = inverse <= F32_MAX ? inverse : 0; // d = 0, or so small (subnormal) that 1 / d overflows: codes 0
    scales[b] = d;
    for (let j = 0; j < 32; j++) {
      codes[32 * b + j] = Math.max(-32768, Math.min(32767, roundHalfEven(f(x[32 * b + j] * id))));
      offsetSums[b] += 8 * codes[32 * b + j];
    }
    const half = (from: number): number => {
      let sum = 0;
      for (let j = 0; j < 32; j++) if ((j & 2) === from) sum += codes[32 * b + j];
      return -8 * sum;
    };
    offsetHalves[b] = (half(0) & 0xffff) | (half(2) << 16);
  }
  return { codes, scales, offsetSums, offsetHalves };
}
