// Q4_K and Q5_K super-blocks for k-quant-matvec.ts (ggml-common.h `block_q4_K`, `block_q5_K`; TS
// codecs ../../quant/q4_k.ts, q5_k.ts): unsigned 4-bit codes (+ Q5_K's 5th bit) in pairs of
// sub-blocks sharing their bytes, 6-bit scales and mins, value = d·sc[s]·q − dmin·m[s].
import { bytesToI32x4, PAIR_SCALES, PAIR_SUMS, transposeAdd4 } from './k-quant-parts.ts';
import { f16ToF32 } from './snippets.ts';

/**
 * Where a Q4_K / Q5_K block keeps its codes (the nibbles, and Q5_K's 32 bytes of 5th bits), and the
 * activation codes the kernel reads: int16 (quantize_x_i16), or int8 (quantize_x_i8) for relaxed
 * SIMD's int8 dot.
 */
export interface NibbleLayout {
  readonly qs: number;
  readonly qh?: number;
  readonly activations: 'i16' | 'i8';
}
export const Q4_K_LAYOUT: NibbleLayout = { qs: 16, activations: 'i16' };
export const Q5_K_LAYOUT: NibbleLayout = { qh: 16, qs: 48, activations: 'i16' };
export const Q4_K_I8_LAYOUT: NibbleLayout = { qs: 16, activations: 'i8' };
export const Q5_K_I8_LAYOUT: NibbleLayout = { qh: 16, qs: 48, activations: 'i8' };

/** Shifts the i16x8 (shift16) or i8x16 (shift8) on the stack left by n bits (right by −n; nothing for 0). */
const shift = (lanes: 'i16x8' | 'i8x16', n: number): string => (n === 0 ? '' : `
      i32.const ${Math.abs(n)}
      ${lanes}.${n > 0 ? 'shl' : 'shr_u'}`);
const shift16 = (n: number): string => shift('i16x8', n);
const shift8 = (n: number): string => shift('i8x16', n);

/**
 * Pushes the i16x8 codes of 8 elements of sub-block s from `nibbles` (the 8 bytes widened to i16 on
 * the stack): the low (s even) or high (s odd) nibble, plus for Q5_K bit s of the 8 matching qh bytes
 * as bit 4 (ggml-quants.c `dequantize_row_q5_K`).
 */
function codes16(layout: NibbleLayout, s: number, g: number): string {
  const nibble = s % 2 === 0 ? `
      local.get $lowNibble16
      v128.and` : shift16(-4);
  if (layout.qh === undefined) return nibble;
  return `${nibble}
      local.get $p
      v128.load8x8_u offset=${layout.qh + 8 * g}${shift16(4 - s)}
      local.get $bit4
      v128.and
      v128.or`;
}

/**
 * Q4_K / Q5_K: 4 × 32 bytes of nibbles; byte l of bytes 32i … 32i+31 holds element l of sub-block
 * 2i in its low nibble and element l of sub-block 2i+1 in its high nibble. Eight bytes at a time are
 * widened to i16 in the load (`v128.load8x8_u`), so both nibbles come out with 16-bit mask / shift
 * (native on every SIMD ISA, unlike byte shifts) and go straight into the dots. Sets $d{2i % 4},
 * $d{(2i+1) % 4} to the two sub-blocks' i32x4 partial dots. Exact: |Σ| ≤ 32 · 31 · 32767 < 2^25,
 * and times a 6-bit scale < 2^31.
 */
function nibblePairDots(layout: NibbleLayout, i: number): string {
  if (layout.activations === 'i8') return nibblePairDotsI8(layout, i);
  const [lo, hi] = [`$d${(2 * i) % 4}`, `$d${(2 * i + 1) % 4}`];
  const dot = (s: number, g: number, acc: string): string => `${codes16(layout, s, g)}
      local.get $q
      v128.load offset=${64 * s + 16 * g}
      i32x4.dot_i16x8_s${g > 0 ? `
      local.get ${acc}
      i32x4.add` : ''}
      local.set ${acc}                ;; elements ${8 * g}–${8 * g + 7} of sub-block ${s}`;
  return [0, 1, 2, 3].map((g) => `
      local.get $p
      v128.load8x8_u offset=${layout.qs + 32 * i + 8 * g}
      local.tee $codes${dot(2 * i, g, lo)}
      local.get $codes${dot(2 * i + 1, g, hi)}`).join('');
}

/**
 * The same against int8 activation codes (32 bytes per sub-block at $q + 32s) with
 * `i16x8.relaxed_dot_i8x16_i7x16_s` (x86 `pmaddubsw`): 16 products per instruction, pairs summed to
 * i16; the two halves of a sub-block are added in i16 (|Σ| ≤ 4 · 15 · 127 < 2^15: exact) and widened
 * pairwise to i32x4 (Q5_K: |Σ| ≤ 4 · 31 · 127 < 2^15). The codes 0–15 (0–31) are a valid 7-bit operand, so the result is exact on every
 * engine (as code-layouts.ts Q4_0_I8_LAYOUT).
 */
function nibblePairDotsI8(layout: NibbleLayout, i: number): string {
  const half = (s: number, k: 0 | 1): string => `
      local.get $q
      v128.load offset=${32 * s + 16 * k}
      ${s % 2 === 0 ? `local.get $p
      v128.load offset=${layout.qs + 32 * i + 16 * k}
      local.tee ${k === 0 ? '$codes' : '$codes2'}` : `local.get ${k === 0 ? '$codes' : '$codes2'}
      i32.const 4
      i16x8.shr_u`}
      local.get $lowNibble
      v128.and                         ;; elements ${16 * k}–${16 * k + 15} of sub-block ${s}${layout.qh === undefined ? '' : `
      local.get $p
      v128.load offset=${layout.qh + 16 * k}${shift8(4 - s)}
      local.get $bit4x8
      v128.and
      v128.or                          ;; Q5_K: bit s of qh as bit 4 (codes 0–31, still a 7-bit operand)`}
      i16x8.relaxed_dot_i8x16_i7x16_s`;
  return [2 * i, 2 * i + 1].map((s) => `${half(s, 0)}${half(s, 1)}
      i16x8.add
      i32x4.extadd_pairwise_i16x8_s
      local.set $d${s % 4}`).join('');
}

/**
 * One Q4_K / Q5_K sub-block quad (sub-blocks 4h … 4h+3) into $acc: with D the four integer dots, S8
 * the pairs' 8·Σ codes and d_x their scales, acc += (f32(D · sc) · d − f32(S8 · m) · dmin/8) · d_x.
 * S8 · m ≤ 8 · 32 · 32767 · 63 < 2^30: exact in i32 (rounded once by the conversion).
 */
function nibbleQuad(layout: NibbleLayout, h: 0 | 1): string {
  return `${nibblePairDots(layout, 2 * h)}${nibblePairDots(layout, 2 * h + 1)}
      ${transposeAdd4}${bytesToI32x4(h === 0 ? '$scLo' : '$scHi')}
      i32x4.mul
      f32x4.convert_i32x4_s
      local.get $dv
      f32x4.mul                        ;; d · sc[s] · Σ q·q_x
      local.get $s
      v128.load offset=${32 * h}
      local.get $s
      v128.load offset=${32 * h + 16}
      i8x16.shuffle ${PAIR_SUMS}${bytesToI32x4(h === 0 ? '$mnLo' : '$mnHi')}
      i32x4.mul
      f32x4.convert_i32x4_s
      local.get $dminv
      f32x4.mul                        ;; dmin · m[s] · Σ q_x (dminv = dmin / 8)
      f32x4.sub
      local.get $s
      v128.load offset=${32 * h}
      local.get $s
      v128.load offset=${32 * h + 16}
      i8x16.shuffle ${PAIR_SCALES}
      f32x4.mul                        ;; · d_x
      local.get $acc
      f32x4.add
      local.set $acc`;
}

/**
 * One Q4_K / Q5_K super-block at $p: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (k-scales.ts),
 * then the codes. The scales unpack as ggml's `ggml_vec_dot_q4_K_q8_K` does it, four at a time in
 * an i32 (bytes 4–7, 8–11, 12–15 of the block = words A, B, C): scales 0–3 = A & 0x3f…, mins 0–3 =
 * B & 0x3f…, scales 4–7 = C's low nibbles | A's top two bits moved to bits 4–5, mins 4–7 = C's high
 * nibbles | B's top two bits.
 */
export const nibbleSuperBlock = (layout: NibbleLayout): string => `${f16ToF32('$p', 0)}
      f32x4.splat
      local.set $dv${f16ToF32('$p', 2)}
      f32.const 0.125
      f32.mul
      f32x4.splat
      local.set $dminv
      local.get $p
      i32.load offset=4
      local.tee $wordA
      i32.const ${0x3f3f3f3f}
      i32.and
      local.set $scLo
      local.get $p
      i32.load offset=8
      local.tee $wordB
      i32.const ${0x3f3f3f3f}
      i32.and
      local.set $mnLo
      local.get $p
      i32.load offset=12
      i32.const ${0x0f0f0f0f}
      i32.and
      local.get $wordA
      i32.const 2
      i32.shr_u
      i32.const ${0x30303030}
      i32.and
      i32.or
      local.set $scHi
      local.get $p
      i32.load offset=12
      i32.const 4
      i32.shr_u
      i32.const ${0x0f0f0f0f}
      i32.and
      local.get $wordB
      i32.const 2
      i32.shr_u
      i32.const ${0x30303030}
      i32.and
      i32.or
      local.set $mnHi${nibbleQuad(layout, 0)}${nibbleQuad(layout, 1)}`;
