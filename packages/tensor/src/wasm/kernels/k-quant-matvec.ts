// Q4_K / Q6_K products in SIMD128, reading the GGUF rows as they are (WasmWeightArena.place copies
// K-quant matrices byte for byte), decode and prefill:
//   Y[t, r] = Σ_superblocks Σ_s  d_w(s) · d_x(s) · (Σ_j q_w[j] · q_x[t, j])  − (Q4_K) dmin · m[s] · Σ x
// One pass = one row for one token, the row read as one sequential stream (a row of phi-3-mini's
// 3072 columns is 1.7 KiB of Q4_K, so the next tokens of a prefill find it in L1). Per sub-block the
// inner Σ is an exact integer dot (`i32x4.dot_i16x8_s` of the weight codes widened to i16 against the
// int16 activation codes of quantize-x.ts); four sub-blocks' i32x4 partial sums are transpose-added
// into one i32x4 of four sub-block dots, multiplied by the four integer sub-block scales in i32
// (exact, bounds below) and finished in f32 lanes. Lanes accumulate over the row in a fixed order and
// are summed horizontally once per (row, token).
//
// Activation blocks are 32 elements (quantize_x_i16), so super-block b of a row uses blocks 8b … 8b+7:
// 512 bytes of int16 codes and 8 (d_x f32, 8·Σ codes i32) pairs = 64 bytes.
// Layouts: ggml-common.h `block_q4_K` / `block_q6_K`, decoded by ../../quant/q4_k.ts and q6_k.ts.
import type { FunctionSource } from '../assembler.ts';
import { HIGH_64, LOW_64, pairSum, ZIP_HIGH_32, ZIP_LOW_32 } from './quant-groups.ts';
import { F16_TABLE_OFFSET, horizontalSum } from './snippets.ts';

/** Bytes per super-block (ggml `sizeof(block_q4_K)`, `sizeof(block_q6_K)`). */
const Q4_K_BYTES = 144;
const Q6_K_BYTES = 210;
/** Activation bytes per super-block: 256 int16 codes, 8 pairs. */
const XQ_BYTES = 512;
const XS_BYTES = 64;

/** i8x16.shuffle lanes taking the f32 d_x / the i32 8·Σ codes out of four (d_x, sum) pairs in two vectors. */
const PAIR_SCALES = '0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27';
const PAIR_SUMS = '4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31';
/** [d_x of block A, A, B, B] from the two pairs (A, B) in one vector: Q6_K's 16-element sub-blocks. */
const SCALES_AABB = '0 1 2 3 0 1 2 3 8 9 10 11 8 9 10 11';

/** Pushes the f32 of the f16 at `addr + offset` through the f16 table (as snippets.ts f16ToF32). */
const f16At = (addr: string, offset: number): string => `
      local.get ${addr}
      i32.load16_u offset=${offset}
      i32.const 2
      i32.shl
      f32.load offset=${F16_TABLE_OFFSET}`;

/**
 * Pushes the i32x4 partial sums of Σ_j c[j] · q_x[j] over 8·n elements: the weight codes c are the
 * i8x16 on the stack (unsigned nibbles or signed 6-bit codes, by `signed`), the int16 activation
 * codes at `$q + xAt`. n = 2 takes all 16 bytes; the stack value is consumed via local $codes.
 */
const dotCodes = (xAt: number, signed: boolean): string => {
  const ext = signed ? 's' : 'u';
  return `
      local.tee $codes
      i16x8.extend_low_i8x16_${ext}
      local.get $q
      v128.load offset=${xAt}
      i32x4.dot_i16x8_s
      local.get $codes
      i16x8.extend_high_i8x16_${ext}
      local.get $q
      v128.load offset=${xAt + 16}
      i32x4.dot_i16x8_s
      i32x4.add`;
};

/** Pushes [Σ a, Σ b, Σ c, Σ d] for the i32x4 locals $d0 … $d3 (the 4×4 transpose-add of quant-groups.ts). */
const transposeAdd4 = `${pairSum('$d0', '$d1', ZIP_LOW_32, ZIP_HIGH_32)}
      local.set $sum01${pairSum('$d2', '$d3', ZIP_LOW_32, ZIP_HIGH_32)}
      local.set $d0${pairSum('$sum01', '$d0', LOW_64, HIGH_64)}`;

/** Pushes the four bytes of i32 local `word` as an i32x4 (unsigned). */
const bytesToI32x4 = (word: string): string => `
      local.get ${word}
      i32x4.splat
      i16x8.extend_low_i8x16_u
      i32x4.extend_low_i16x8_u`;

/**
 * Q4_K: 4 × 32 bytes of nibbles; byte l of bytes 32i … 32i+31 holds element l of sub-block 2i in its
 * low nibble and element l of sub-block 2i+1 in its high nibble. Eight bytes at a time are widened to
 * i16 in the load (`v128.load8x8_u`), so both nibbles come out with 16-bit mask / shift (native on
 * every SIMD ISA, unlike byte shifts) and go straight into the dots. Sets $d{2i % 4}, $d{(2i+1) % 4}
 * to the two sub-blocks' i32x4 partial dots. Exact: |Σ| ≤ 32 · 15 · 32767 < 2^24, and times a 6-bit
 * scale < 2^30.
 */
function q4kSubBlockPairDots(i: number): string {
  const [lo, hi] = [`$d${(2 * i) % 4}`, `$d${(2 * i + 1) % 4}`];
  return [0, 1, 2, 3].map((g) => `
      local.get $p
      v128.load8x8_u offset=${16 + 32 * i + 8 * g}
      local.tee $codes
      local.get $lowNibble16
      v128.and                         ;; elements ${8 * g}–${8 * g + 7} of sub-block ${2 * i}
      local.get $q
      v128.load offset=${64 * 2 * i + 16 * g}
      i32x4.dot_i16x8_s${g > 0 ? `
      local.get ${lo}
      i32x4.add` : ''}
      local.set ${lo}
      local.get $codes
      i32.const 4
      i16x8.shr_u                      ;; … and of sub-block ${2 * i + 1}
      local.get $q
      v128.load offset=${64 * (2 * i + 1) + 16 * g}
      i32x4.dot_i16x8_s${g > 0 ? `
      local.get ${hi}
      i32x4.add` : ''}
      local.set ${hi}`).join('');
}

/**
 * One Q4_K sub-block quad (sub-blocks 4h … 4h+3) into $acc: with D the four integer dots, S8 the
 * pairs' 8·Σ codes and d_x their scales, acc += (f32(D · sc) · d − f32(S8 · m) · dmin/8) · d_x.
 * S8 · m ≤ 8 · 32 · 32767 · 63 < 2^29: exact in i32 (rounded once by the conversion).
 */
function q4kQuad(h: 0 | 1): string {
  return `${q4kSubBlockPairDots(2 * h)}${q4kSubBlockPairDots(2 * h + 1)}
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
 * One Q4_K super-block at $p: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (k-scales.ts), then
 * the nibbles. The scales unpack as ggml's `ggml_vec_dot_q4_K_q8_K` does it, four at a time in an
 * i32 (bytes 4–7, 8–11, 12–15 of the block = words A, B, C): scales 0–3 = A & 0x3f…, mins 0–3 =
 * B & 0x3f…, scales 4–7 = C's low nibbles | A's top two bits moved to bits 4–5, mins 4–7 = C's high
 * nibbles | B's top two bits.
 */
const q4kSuperBlock = `${f16At('$p', 0)}
      f32x4.splat
      local.set $dv${f16At('$p', 2)}
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
      local.set $mnHi${q4kQuad(0)}${q4kQuad(1)}`;

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
      i8x16.sub${dotCodes(32 * s, true)}
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
const q6kSuperBlock = `${f16At('$p', 208)}
      f32x4.splat
      local.set $dv
      local.get $p
      v128.load offset=192
      local.set $scales${[0, 1, 2, 3].map(q6kQuad).join('')}`;

/**
 * The row × token loops around one format's super-block pass (which reads $p, $q, $s and adds to
 * $acc): Y[t, r] for r < rows, t < tokens.
 */
function kQuantMatvec(name: string, blockBytes: number, superBlock: string): FunctionSource {
  return {
    name,
    params: [
      ['$w', 'i32'], ['$rows', 'i32'], ['$superBlocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
    ],
    locals: [
      ['$rowBytes', 'i32'], ['$t', 'i32'], ['$p', 'i32'], ['$q', 'i32'], ['$s', 'i32'], ['$b', 'i32'],
      ['$wordA', 'i32'], ['$wordB', 'i32'], ['$scLo', 'i32'], ['$scHi', 'i32'], ['$mnLo', 'i32'], ['$mnHi', 'i32'],
      ['$acc', 'v128'], ['$dv', 'v128'], ['$dminv', 'v128'], ['$codes', 'v128'], ['$scales', 'v128'],
      ['$d0', 'v128'], ['$d1', 'v128'], ['$d2', 'v128'], ['$d3', 'v128'], ['$sum01', 'v128'],
      ['$lowNibble', 'v128'], ['$lowNibble16', 'v128'], ['$bits45', 'v128'], ['$thirtyTwo', 'v128'],
    ],
    body: `
  local.get $superBlocks
  i32.const ${blockBytes}
  i32.mul
  local.set $rowBytes
  i32.const 15
  i8x16.splat
  local.set $lowNibble
  i32.const ${0x000f000f}
  i32x4.splat
  local.set $lowNibble16
  i32.const ${0x30}
  i8x16.splat
  local.set $bits45
  i32.const 32
  i8x16.splat
  local.set $thirtyTwo
  block $done
    local.get $rows
    i32.eqz
    br_if $done
    loop $rowLoop
      i32.const 0
      local.set $t
      loop $tokenLoop                  ;; every token over this row while it is in L1
        f32.const 0
        f32x4.splat
        local.set $acc
        local.get $w
        local.set $p
        local.get $xq
        local.get $t
        local.get $superBlocks
        i32.mul
        i32.const ${XQ_BYTES}
        i32.mul
        i32.add
        local.set $q                   ;; token t's codes
        local.get $xs
        local.get $t
        local.get $superBlocks
        i32.mul
        i32.const ${XS_BYTES}
        i32.mul
        i32.add
        local.set $s                   ;; token t's (d_x, 8 Σ codes) pairs
        local.get $superBlocks
        local.set $b
        loop $superBlock
          ${superBlock}
          local.get $p
          i32.const ${blockBytes}
          i32.add
          local.set $p
          local.get $q
          i32.const ${XQ_BYTES}
          i32.add
          local.set $q
          local.get $s
          i32.const ${XS_BYTES}
          i32.add
          local.set $s
          local.get $b
          i32.const 1
          i32.sub
          local.tee $b
          br_if $superBlock
        end
        local.get $y
        local.get $t
        local.get $yStride
        i32.mul
        i32.const 2
        i32.shl
        i32.add                        ;; &Y[t, r]
        ${horizontalSum('$acc')}
        f32.store
        local.get $t
        i32.const 1
        i32.add
        local.tee $t
        local.get $tokens
        i32.lt_u
        br_if $tokenLoop
      end
      local.get $w
      local.get $rowBytes
      i32.add
      local.set $w
      local.get $y
      i32.const 4
      i32.add
      local.set $y
      local.get $rows
      i32.const 1
      i32.sub
      local.tee $rows
      br_if $rowLoop
    end
  end`,
  };
}

/**
 * `q4_k_matvec($w, $rows, $superBlocks, $xq, $xs, $y, $tokens, $yStride)` and `q6_k_matvec(...)`: byte
 * offsets of the GGUF rows W [rows, 256·superBlocks] (rows · superBlocks blocks, row after row), the
 * activation codes xq [tokens, 256·superBlocks] i16 and pairs xs [tokens, 8·superBlocks]
 * (quantize_x_i16 over all tokens at once), and Y (Y[t, r] at y + 4·(t·yStride + r)); superBlocks ≥ 1,
 * tokens ≥ 1, rows ≥ 0.
 */
export const q4KMatvec = kQuantMatvec('q4_k_matvec', Q4_K_BYTES, q4kSuperBlock);
export const q6KMatvec = kQuantMatvec('q6_k_matvec', Q6_K_BYTES, q6kSuperBlock);
