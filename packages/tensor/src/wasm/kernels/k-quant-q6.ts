// Q6_K super-blocks for k-quant-matvec.ts (ggml-common.h `block_q6_K`; TS codec ../../quant/q6_k.ts):
// 6-bit codes split into low nibbles (ql) and 2-bit high parts (qh), 16-element sub-blocks with int8
// scales, value = d·scale[s]·(q − 32).
import { transposeAdd4 } from './k-quant-parts.ts';
import { f16ToF32 } from './snippets.ts';

/** [d_x of block A, A, B, B] from the two pairs (A, B) in one vector: Q6_K's 16-element sub-blocks. */
const SCALES_AABB = '0 1 2 3 0 1 2 3 8 9 10 11 8 9 10 11';

/**
 * Pushes the i32x4 partial sums of Σ_j c[j] · q_x[j] over one 16-element sub-block: the signed codes
 * c = q − 32 are the i8x16 on the stack (kept in $codes), the int16 activation codes at `$q + xAt`.
 */
const dotCodes = (xAt: number): string => `
      local.tee $codes
      i16x8.extend_low_i8x16_s
      local.get $q
      v128.load offset=${xAt}
      i32x4.dot_i16x8_s
      local.get $codes
      i16x8.extend_high_i8x16_s
      local.get $q
      v128.load offset=${xAt + 16}
      i32x4.dot_i16x8_s
      i32x4.add`;

/**
 * Q6_K sub-block s (16 elements, s = 8h + 4g + k) as signed codes q − 32: in half h (ql at 64h, qh at
 * 128 + 32h), activation block j = s/2 % 4 takes the low (j < 2) or high (j ≥ 2) nibbles of
 * ql[32·(j & 1) + 16·(s & 1) …] and bits 2j, 2j+1 of qh[16·(s & 1) …] as bits 4–5 (ggml-quants.c
 * `dequantize_row_q6_K`). Sets $d{s % 4} to its i32x4 partial dot. Exact: |Σ| ≤ 16 · 32 · 32767 and
 * times an int8 scale ≤ 2^31 − 2^16.
 */
function q6kSubBlockDot(s: number): string {
  const h = s >> 3;
  const j = (s >> 1) & 3;
  const half = s & 1;
  const highBits = [
    'i32.const 4\n      i8x16.shl', 'i32.const 2\n      i8x16.shl', '', 'i32.const 2\n      i8x16.shr_u',
  ][j];
  return `
      local.get $p
      v128.load offset=${64 * h + 32 * (j & 1) + 16 * half}${j < 2 ? `
      local.get $lowNibble
      v128.and` : `
      i32.const 4
      i8x16.shr_u`}
      local.get $p
      v128.load offset=${128 + 32 * h + 16 * half}
      ${highBits}
      local.get $bits45
      v128.and
      v128.or
      local.get $thirtyTwo
      i8x16.sub${dotCodes(32 * s)}
      local.set $d${s % 4}`;
}

/**
 * One Q6_K quad (sub-blocks 4m … 4m+3 = activation blocks 2m, 2m+1) into $acc:
 * acc += f32(D · sc) · (d_x · d), with the int8 scales sign-extended from $scales.
 */
function q6kQuad(m: number): string {
  return `${[0, 1, 2, 3].map((k) => q6kSubBlockDot(4 * m + k)).join('')}
      ${transposeAdd4}
      local.get $scales
      i16x8.extend_${m < 2 ? 'low' : 'high'}_i8x16_s
      i32x4.extend_${m % 2 === 0 ? 'low' : 'high'}_i16x8_s
      i32x4.mul
      f32x4.convert_i32x4_s
      local.get $s
      v128.load offset=${16 * m}
      local.get $s
      v128.load offset=${16 * m}
      i8x16.shuffle ${SCALES_AABB}
      local.get $dv
      f32x4.mul                        ;; d_x · d
      f32x4.mul
      local.get $acc
      f32x4.add
      local.set $acc`;
}

/** One Q6_K super-block at $p: ql [128], qh [64], 16 int8 scales at 192, f16 d at 208. */
export const q6kSuperBlock = `${f16ToF32('$p', 208)}
      f32x4.splat
      local.set $dv
      local.get $p
      v128.load offset=192
      local.set $scales${[0, 1, 2, 3].map(q6kQuad).join('')}`;
