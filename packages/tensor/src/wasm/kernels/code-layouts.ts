// How the Q8_0 and Q4_0 codes of one row-group block (quant/row-groups.ts) become exact integer dot
// products with the activation codes (quantize-x.ts), for quant-groups.ts: int16 activations with
// `i32x4.dot_i16x8_s` (Q8_0, Q4_0), or int8 activations with relaxed SIMD's int8 dot (Q4_0 where the
// engine has it, ../relaxed.ts) — the Q4_0 nibbles 0–15 are the 7-bit unsigned operand it wants.
import { codeBytes, groupBlockBytes, ROW_GROUP } from '../../quant/row-groups.ts';

/** What every format's code layout inside a row-group block gives the kernel. */
interface CodeLayoutBase {
  /** Kernel name prefix: the weight format, plus `_i8` for the int8-activation variant. */
  readonly name: 'q8_0' | 'q4_0' | 'q4_0_i8';
  /** Bytes of one activation block's codes: 64 (int16) or 32 (int8), loaded into $xv0 … */
  readonly xBlockBytes: 64 | 32;
  /** Bytes per group block (four f16 scales, then four rows' codes). */
  readonly groupBlockBytes: number;
  /**
   * What the row dots are: i32x4 partial sums, or i16x8 ones small enough that the kernel's 4×4
   * transpose-add can stay in i16 and widen once per group instead of once per row (Q4_0 × int8:
   * |lane| ≤ 4·15·127 = 7620 per row, ≤ 4 · 7620 = 30480 after the two levels of pair sums).
   */
  readonly partialSums: 'i32' | 'i16';
  /**
   * Q4_0 stores q + 8, so the dot is Σ q·x + 8 Σ x: the kernel subtracts the activation block's
   * 8 Σ x (from quantize_x_i16) once per block, rather than 8 from each of the 32 nibbles per row.
   */
  readonly offset: boolean;
}

/** A layout whose block is straight-line code: each row's dot at once. */
export interface StraightCodeLayout extends CodeLayoutBase {
  /**
   * Pushes the i32x4 partial sums of Σ_j c_w[j] · q_x[j] for row i of the group block at local `p`
   * (int16 activation codes in $xv0..3 = elements 0–7, 8–15, 16–23, 24–31; int8 ones in $xv0..1 =
   * elements 0–15, 16–31). c_w is the stored code: the unsigned nibble q + 8 for Q4_0 (see `offset`).
   */
  readonly rowDot: (p: string, i: number) => string;
  readonly slices?: undefined;
}

/**
 * A layout whose block runs as a loop over `count` slices of its codes: each step loads one slice of
 * the activations ($xv0, `xBytes`) and adds its dot with each row's matching codes (`rowSliceDot(i)`,
 * at local $pk, which steps `codeBytes`) into $r0 … $r3. V8 hoists every load of a straight-line
 * block, and Q8_0's 16 code loads plus its four activation vectors are more than the 16 xmm
 * registers: the block spilled, where the loop keeps everything in registers (one thread, weights
 * from DRAM: Q8_0 decode 24.5 → 26.5 GB/s).
 */
interface SlicedCodeLayout extends CodeLayoutBase {
  readonly slices: { readonly count: number; readonly xBytes: number; readonly codeBytes: number; readonly rowSliceDot: (i: number) => string };
  readonly rowDot?: undefined;
}

/** One format's code layout inside a row-group block. */
export type CodeLayout = StraightCodeLayout | SlicedCodeLayout;

/** Byte offset of row i's codes inside a group block: after the four f16 scales. */
export const codesAt = (format: 'q8_0' | 'q4_0', i: number): number => 2 * ROW_GROUP + codeBytes(format) * i;

const dot = (xv: string, add: boolean): string => `
      local.get ${xv}
      i32x4.dot_i16x8_s${add ? '\n      i32x4.add' : ''}`;

/** ggml `block_q8_0` codes: 32 int8; `v128.load8x8_s` widens 8 of them to i16 in the load. */
export const Q8_0_LAYOUT: CodeLayout = {
  name: 'q8_0',
  xBlockBytes: 64,
  partialSums: 'i32',
  groupBlockBytes: groupBlockBytes('q8_0'),
  offset: false,
  slices: {
    count: 4,
    xBytes: 16,
    codeBytes: 8,
    rowSliceDot: (i) => `
      local.get $pk
      v128.load8x8_s offset=${codesAt('q8_0', i)}${dot('$xv0', false)}`,
  },
};

/**
 * ggml `block_q4_0` codes: 16 bytes; byte j holds element j (low nibble) and j + 16 (high nibble),
 * each stored as q + 8. Masking / shifting gives the two halves as unsigned bytes 0–15.
 * Needs v128 locals $packed, $half and $lowNibble (splat 0x0f).
 */
export const Q4_0_LAYOUT: CodeLayout = {
  name: 'q4_0',
  xBlockBytes: 64,
  partialSums: 'i32',
  groupBlockBytes: groupBlockBytes('q4_0'),
  offset: true,
  rowDot: (p, i) => `
      local.get ${p}
      v128.load offset=${codesAt('q4_0', i)}
      local.tee $packed
      local.get $lowNibble
      v128.and
      local.tee $half                  ;; elements 0–15 (+8)
      i16x8.extend_low_i8x16_u${dot('$xv0', false)}
      local.get $half
      i16x8.extend_high_i8x16_u${dot('$xv1', true)}
      local.get $packed
      i32.const 4
      i8x16.shr_u
      local.tee $half                  ;; elements 16–31 (+8)
      i16x8.extend_low_i8x16_u${dot('$xv2', true)}
      local.get $half
      i16x8.extend_high_i8x16_u${dot('$xv3', true)}`,
};

/**
 * Q4_0 against int8 activations: `i16x8.relaxed_dot_i8x16_i7x16_s` (x86 `pmaddubsw`: 16 products,
 * pairs summed to i16) of the activations with each half's nibbles, the two halves added in i16
 * (|sum| ≤ 4 · 15 · 127: exact), left as i16 partial sums (`partialSums`). The nibbles are 0–15, so the
 * "i7" operand is in range and the result is exact and the same on every engine.
 * Needs v128 locals $packed and $lowNibble (splat 0x0f).
 */
export const Q4_0_I8_LAYOUT: CodeLayout = {
  name: 'q4_0_i8',
  xBlockBytes: 32,
  partialSums: 'i16',
  groupBlockBytes: groupBlockBytes('q4_0'),
  offset: true,
  rowDot: (p, i) => `
      local.get $xv0
      local.get ${p}
      v128.load offset=${codesAt('q4_0', i)}
      local.tee $packed
      local.get $lowNibble
      v128.and                         ;; elements 0–15 (+8)
      i16x8.relaxed_dot_i8x16_i7x16_s
      local.get $xv1
      local.get $packed
      i32.const 4
      i16x8.shr_u
      local.get $lowNibble
      v128.and                         ;; elements 16–31 (+8)
      i16x8.relaxed_dot_i8x16_i7x16_s
      i16x8.add`,
};
