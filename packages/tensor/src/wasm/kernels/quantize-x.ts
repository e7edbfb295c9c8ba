// Activations → integer codes per block of 32, so quantized matvecs can use integer dot products
// against the weights' int8/int4 codes. Like ggml's `quantize_row_q8_0` (which quantizes activations
// to int8 before `ggml_vec_dot_q8_0_q8_0`), in two widths:
//   int16 (quantize_x_i16): d = amax / 32767, each activation's error at most d / 2 ≈ 1.5e-5 · amax
//     of its block — far below the weights' own quantization error — for `i32x4.dot_i16x8_s`.
//   int8 (quantize_x_i8): d = amax / 127, error at most d / 2 ≈ 3.9e-3 · amax, exactly ggml's
//     precision, for the relaxed-SIMD int8 dot products of the Q4_0 kernel (code-layouts.ts).
// TS reference: quantizeActivationsRef in ../reference.ts.
import type { FunctionSource } from '../assembler.ts';
import { countDown, ROUNDING_MAGIC, SWAP_32, SWAP_64 } from './snippets.ts';

/** Largest int16 code. */
export const X_CODE_MAX = 32767;
/** Largest int8 code. */
export const X_CODE_MAX_I8 = 127;

/** Largest finite f32. */
const F32_MAX = 3.4028234663852886e38;

/** Codes of 8 activations x[8k … 8k+7] as an i16x8 on the stack ($id: the splat inverse scale, $magic: ROUNDING_MAGIC splat). */
const codesI16x8 = (k: number): string => [0, 1].map((h) => `
    local.get $x
    v128.load offset=${32 * k + 16 * h}
    local.get $id
    f32x4.mul
    local.get $magic
    f32x4.add
    local.get $magic
    i32x4.sub                         ;; round(x · id)`).join('') + `
    i16x8.narrow_i32x4_s`;

/** Stores block codes at $xq: four i16x8 (64 bytes), or two i8x16 (32 bytes) narrowed from pairs. */
function storeCodes(bits: 16 | 8): string {
  return [0, 1, 2, 3].map((k) => {
    const sum = `
    local.get $codes
    i32x4.extadd_pairwise_i16x8_s
    local.get $sum
    i32x4.add
    local.set $sum`;
    if (bits === 16) return `
    local.get $xq${codesI16x8(k)}
    local.tee $codes
    v128.store offset=${16 * k}${sum}`;
    return k % 2 === 0 ? `${codesI16x8(k)}
    local.tee $codes
    local.set $prev${sum}` : `
    local.get $xq
    local.get $prev${codesI16x8(k)}
    local.tee $codes
    i8x16.narrow_i16x8_s
    v128.store offset=${8 * (k - 1)}${sum}`;
  }).join('');
}

/**
 * Pushes the block's max |x| (f32). |x| bit patterns order as the values do (sign bit clear; NaN's
 * patterns above +Inf's, so a NaN still wins), so the maximum is taken on them as integers
 * (i32x4.max_s, one instruction; f32x4.max and f32.max take several each on x86 for NaN and ±0
 * handling) in a tree of depth 3 over the eight vectors, then across lanes by two shuffles.
 */
const blockAmax = `${[0, 1, 2, 3].map((p) => `
    local.get $x
    v128.load offset=${32 * p}
    f32x4.abs
    local.get $x
    v128.load offset=${32 * p + 16}
    f32x4.abs
    i32x4.max_s${p % 2 === 1 ? `
    i32x4.max_s` : ''}${p === 3 ? `
    i32x4.max_s` : ''}`).join('')}
    local.tee $amax
    local.get $amax
    local.get $amax
    i8x16.shuffle ${SWAP_64}
    i32x4.max_s
    local.tee $amax
    local.get $amax
    local.get $amax
    i8x16.shuffle ${SWAP_32}
    i32x4.max_s
    f32x4.extract_lane 0`;

/**
 * What a block's second word holds: `total` = 8 · Σ codes (i32), or `halves` (int8 only) = the i16
 * pair (−8 Σ codes 4m + {0, 1}, −8 Σ codes 4m + {2, 3}) over the block's words m: the starting values
 * of the Q4_0 × int8 tiles' i16 lanes (quant-tiles.ts), |each| ≤ 8 · 16 · 127 = 16256.
 */
type OffsetSums = 'total' | 'halves';

function quantizeX(bits: 16 | 8, sums: OffsetSums = 'total'): FunctionSource {
  const codeMax = bits === 16 ? X_CODE_MAX : X_CODE_MAX_I8;
  return {
    name: `quantize_x_i${bits}${sums === 'total' ? '' : '_halves'}`,
    params: [['$x', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32']],
    locals: [['$amax', 'v128'], ['$d', 'f32'], ['$id', 'v128'], ['$codes', 'v128'], ['$prev', 'v128'], ['$sum', 'v128'], ['$magic', 'v128'], ['$inverse', 'f32']],
    body: `
  f32.const ${ROUNDING_MAGIC}
  f32x4.splat
  local.set $magic
  loop $block
    ${blockAmax}
    f32.const ${codeMax}
    f32.div
    local.set $d
    f32.const 1
    local.get $d
    f32.div
    local.tee $inverse
    f32.const 0
    local.get $inverse
    f32.const ${F32_MAX}
    f32.le
    select                            ;; id = 1 / d ≤ F32_MAX ? 1 / d : 0 (d = 0, or subnormal: every code 0)
    f32x4.splat
    local.set $id
    i32.const 0
    i32x4.splat
    local.set $sum
    ${storeCodes(bits)}
    local.get $xs
    local.get $d
    f32.store
    local.get $xs${sums === 'total' ? `
    local.get $sum
    i32x4.extract_lane 0
    local.get $sum
    i32x4.extract_lane 1
    i32.add
    local.get $sum
    i32x4.extract_lane 2
    i32.add
    local.get $sum
    i32x4.extract_lane 3
    i32.add
    i32.const 3
    i32.shl
    i32.store offset=4                ;; 8 · Σ codes` : `
    local.get $sum
    i32x4.extract_lane 0
    local.get $sum
    i32x4.extract_lane 2
    i32.add
    i32.const -8
    i32.mul
    i32.const 65535
    i32.and                           ;; −8 Σ codes 4m, 4m + 1 (low i16)
    local.get $sum
    i32x4.extract_lane 1
    local.get $sum
    i32x4.extract_lane 3
    i32.add
    i32.const -8
    i32.mul
    i32.const 16
    i32.shl                           ;; −8 Σ codes 4m + 2, 4m + 3 (high i16)
    i32.or
    i32.store offset=4`}
    local.get $x
    i32.const 128
    i32.add
    local.set $x
    local.get $xq
    i32.const ${bits * 4}
    i32.add
    local.set $xq
    local.get $xs
    i32.const 8
    i32.add
    local.set $xs
    ${countDown('$blocks', '$block')}
  end`,
  };
}

/**
 * `quantize_x_i16($x, $blocks, $xq, $xs)`: for each block b of 32 f32 at x: d = f32(amax / 32767),
 * id = d ≠ 0 ? f32(1 / d) : 0, xq[32b + j] = nearest-even(f32(x · id)) as i16, and the block's pair
 * xs[b] = (d as f32, 8 · Σ_j xq[32b + j] as i32) — the sum is what Q4_0's "+8" nibble offset costs
 * (quant-groups.ts subtracts it once per block instead of from every nibble).
 * Byte offsets: x [32·blocks] f32, xq [32·blocks] i16, xs [blocks] pairs of 8 bytes; blocks ≥ 1.
 */
export const quantizeXI16 = quantizeX(16);

/** `quantize_x_i8(...)`: the same with d = f32(amax / 127) and xq [32·blocks] i8. */
export const quantizeXI8 = quantizeX(8);

/** `quantize_x_i8_halves(...)`: quantize_x_i8 with the `halves` pair as each block's second word. */
export const quantizeXI8Halves = quantizeX(8, 'halves');
