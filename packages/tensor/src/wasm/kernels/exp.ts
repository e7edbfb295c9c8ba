// exp in SIMD128, which WebAssembly lacks: exp(x) = 2^k · p(r), k = round(x · log2 e), r = x − k · ln 2
// in two parts (Cody–Waite), p the degree-6 Taylor polynomial (|r| ≤ ln 2 / 2: truncation < 1.2e-7
// relative), 2^k built in the exponent bits; x is clamped to [−87, 87] so 2^k stays a normal f32 (so
// exp of a very negative x is ~1.6e-38, not 0). About 2 ulp against f64 Math.exp. Used by the SwiGLU
// activation (swiglu.ts) and the attention softmax (attention.ts).

import type { ValType } from '../assembler.ts';
import { ROUNDING_MAGIC } from './snippets.ts';

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375; // ln 2 split so k · LN2_HI is exact for |k| ≤ 127
const LN2_LO = -2.12194440e-4;
const TAYLOR = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]; // highest power first (Horner)

/** The locals expF32x4 uses (add them to the kernel's). */
export const EXP_LOCALS: readonly (readonly [string, ValType])[] = [['$k', 'v128'], ['$kBits', 'v128']];

/**
 * Pushes exp(v) (f32x4) for v128 local `v` (which it overwrites); uses EXP_LOCALS.
 * The clamp uses pmin/pmax (one instruction each on x86; NaN still passes through), and k is rounded
 * with ROUNDING_MAGIC (snippets.ts), which leaves k + 1.5 · 2²³ in $kBits: its bits are
 * 0x4B400000 + k, and 0x4B400000 << 23 overflows to 0, so (bits + 127) << 23 is 2^k.
 */
export const expF32x4 = (v: string): string => `
      local.get ${v}
      f32.const -87
      f32x4.splat
      f32x4.pmax
      f32.const 87
      f32x4.splat
      f32x4.pmin
      local.tee ${v}
      f32.const ${LOG2E}
      f32x4.splat
      f32x4.mul
      f32.const ${ROUNDING_MAGIC}
      f32x4.splat
      f32x4.add
      local.tee $kBits                 ;; magic + k: k in the low mantissa bits
      f32.const ${ROUNDING_MAGIC}
      f32x4.splat
      f32x4.sub
      local.set $k                     ;; k (as f32)
      local.get ${v}
      local.get $k
      f32.const ${LN2_HI}
      f32x4.splat
      f32x4.mul
      f32x4.sub
      local.get $k
      f32.const ${LN2_LO}
      f32x4.splat
      f32x4.mul
      f32x4.sub
      local.set ${v}                   ;; r = v − k · ln 2
      f32.const ${TAYLOR[0]}
      f32x4.splat${TAYLOR.slice(1).map((c) => `
      local.get ${v}
      f32x4.mul
      f32.const ${c}
      f32x4.splat
      f32x4.add`).join('')}
      local.get $kBits
      i32.const 127
      i32x4.splat
      i32x4.add
      i32.const 23
      i32x4.shl                        ;; (k + 127) << 23 = 2^k as f32 bits (the magic's bits shift out)
      f32x4.mul`;

