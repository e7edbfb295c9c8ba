// How Q8_0 and Q4_0 blocks become i16 codes in SIMD registers, for the integer-dot kernels
// (quant-matvec.ts, quant-matmul.ts). Q4_0 kernels need v128 locals $packed, $half, $lowNibble
// (splat 0x0f) and $eight (splat 8).

/** How one block's 32 weight codes become four i16x8 vectors (elements 0–7, 8–15, 16–23, 24–31). */
export interface CodeLayout {
  readonly name: 'q8_0' | 'q4_0';
  readonly blockBytes: number;
  /** Pushes the i32x4 partial sums Σ q_w · q_x for the block at pointer local `p` (x codes in $xv0..3). */
  readonly blockDot: (p: string) => string;
  /** Sets i16x8 locals $wv0..3 to the block's codes (elements 0–7, 8–15, 16–23, 24–31). */
  readonly unpack: (p: string) => string;
  /**
   * Rows per matvec pass sharing the activation loads (rows of ≥ MIN_BLOCKS_FOR_ROW_PASSES blocks
   * only, quant-matvec.ts). Measured on phi-3-mini shapes (one thread,
   * weights from DRAM): Q8_0 8 rows ≈ 12% faster than 4; Q4_0, which needs 4 more v128 locals for
   * unpacking, is ≈ 15% slower at 8 than at 4 (register spills). 2 rows is slower for both.
   */
  readonly rowsPerPass: number;
}

const dot = (codes: string, xv: string): string => `${codes}
      local.get ${xv}
      i32x4.dot_i16x8_s`;

/** ggml `block_q8_0`: f16 d, then 32 int8 codes; `v128.load8x8_s` widens 8 codes to i16 in the load. */
export const Q8_0_LAYOUT: CodeLayout = {
  name: 'q8_0',
  blockBytes: 34,
  rowsPerPass: 8,
  blockDot: (p) => [0, 1, 2, 3].map((k) => dot(`
      local.get ${p}
      v128.load8x8_s offset=${2 + 8 * k}`, `$xv${k}`) + (k > 0 ? '\n      i32x4.add' : '')).join(''),
  unpack: (p) => [0, 1, 2, 3].map((k) => `
      local.get ${p}
      v128.load8x8_s offset=${2 + 8 * k}
      local.set $wv${k}`).join(''),
};

/**
 * ggml `block_q4_0`: f16 d, then 16 bytes; byte j holds element j (low nibble) and j + 16 (high
 * nibble), each stored as q + 8. Masking/shifting gives the two nibble halves, minus 8 gives int8.
 */
export const Q4_0_LAYOUT: CodeLayout = {
  name: 'q4_0',
  blockBytes: 18,
  rowsPerPass: 4,
  blockDot: (p) => `
      local.get ${p}
      v128.load offset=2
      local.tee $packed
      local.get $lowNibble
      v128.and
      local.get $eight
      i8x16.sub
      local.tee $half                  ;; elements 0–15 as int8
      i16x8.extend_low_i8x16_s${dot('', '$xv0')}
      local.get $half
      i16x8.extend_high_i8x16_s${dot('', '$xv1')}
      i32x4.add
      local.get $packed
      i32.const 4
      i8x16.shr_u
      local.get $eight
      i8x16.sub
      local.tee $half                  ;; elements 16–31 as int8
      i16x8.extend_low_i8x16_s${dot('', '$xv2')}
      i32x4.add
      local.get $half
      i16x8.extend_high_i8x16_s${dot('', '$xv3')}
      i32x4.add`,
  unpack: (p) => `
      local.get ${p}
      v128.load offset=2
      local.tee $packed
      local.get $lowNibble
      v128.and
      local.get $eight
      i8x16.sub
      local.tee $half                  ;; elements 0–15 as int8
      i16x8.extend_low_i8x16_s
      local.set $wv0
      local.get $half
      i16x8.extend_high_i8x16_s
      local.set $wv1
      local.get $packed
      i32.const 4
      i8x16.shr_u
      local.get $eight
      i8x16.sub
      local.tee $half                  ;; elements 16–31 as int8
      i16x8.extend_low_i8x16_s
      local.set $wv2
      local.get $half
      i16x8.extend_high_i8x16_s
      local.set $wv3`,
};
