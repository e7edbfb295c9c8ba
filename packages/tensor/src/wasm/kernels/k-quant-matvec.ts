// Q4_K / Q5_K / Q6_K products in SIMD128, reading the GGUF rows as they are (WasmWeightArena.place copies
// K-quant matrices byte for byte), decode and prefill:
//   Y[t, r] = Σ_superblocks Σ_s  d_w(s) · d_x(s) · (Σ_j q_w[j] · q_x[t, j])  − (Q4_K, Q5_K) dmin · m[s] · Σ x
// One pass = one row for one token, the row read as one sequential stream (a row of phi-3-mini's
// 3072 columns is 1.7 KiB of Q4_K, so the next tokens of a prefill find it in L1). Per sub-block the
// inner Σ is an exact integer dot (`i32x4.dot_i16x8_s` of the weight codes widened to i16 against the
// int16 activation codes of quantize-x.ts); four sub-blocks' i32x4 partial sums are transpose-added
// into one i32x4 of four sub-block dots, multiplied by the four integer sub-block scales in i32
// (exact, bounds below) and finished in f32 lanes. Lanes accumulate over the row in a fixed order and
// are summed horizontally once per (row, token). The super-block passes: k-quant-nibbles.ts (Q4_K,
// Q5_K) and k-quant-q6.ts. Where the engine has relaxed SIMD, Q4_K also has an int8-activation
// variant (q4_k_i8_matvec, and q5_k_i8_matvec: quantize_x_i8 codes, 16 products per `i16x8.relaxed_dot_i8x16_i7x16_s`,
// ggml's own activation precision), about 1.9× faster; linear.ts prefers it, as for Q4_0.
//
// Activation blocks are 32 elements (quantize_x_i16), so super-block b of a row uses blocks 8b … 8b+7:
// 512 bytes of int16 codes and 8 (d_x f32, 8·Σ codes i32) pairs = 64 bytes.
// Layouts: ggml-common.h `block_q4_K` / `block_q5_K` / `block_q6_K`, decoded by ../../quant/q4_k.ts,
// q5_k.ts and q6_k.ts.
import type { FunctionSource } from '../assembler.ts';
import { nibbleSuperBlock, Q4_K_I8_LAYOUT, Q4_K_LAYOUT, Q5_K_I8_LAYOUT, Q5_K_LAYOUT } from './k-quant-nibbles.ts';
import { q6kSuperBlock } from './k-quant-q6.ts';
import { advance, countDown, forEachToken, horizontalSum } from './snippets.ts';

/** Bytes per super-block (ggml `sizeof(block_q4_K)`, `block_q5_K`, `block_q6_K`). */
const Q4_K_BYTES = 144;
const Q5_K_BYTES = 176;
const Q6_K_BYTES = 210;
/** Activation bytes per super-block: 256 int16 (or int8) codes, 8 pairs. */
const XQ_BYTES = 512;
const XQ_I8_BYTES = 256;
const XS_BYTES = 64;

/**
 * The row × token loops around one format's super-block pass (which reads $p, $q, $s and adds to
 * $acc): Y[t, r] for r < rows, t < tokens.
 */
function kQuantMatvec(name: string, blockBytes: number, superBlock: string, xqBytes = XQ_BYTES): FunctionSource {
  return {
    name,
    params: [
      ['$w', 'i32'], ['$rows', 'i32'], ['$superBlocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
    ],
    locals: [
      ['$rowBytes', 'i32'], ['$t', 'i32'], ['$p', 'i32'], ['$q', 'i32'], ['$s', 'i32'], ['$b', 'i32'],
      ['$wordA', 'i32'], ['$wordB', 'i32'], ['$scLo', 'i32'], ['$scHi', 'i32'], ['$mnLo', 'i32'], ['$mnHi', 'i32'],
      ['$acc', 'v128'], ['$dv', 'v128'], ['$dminv', 'v128'], ['$codes', 'v128'], ['$codes2', 'v128'], ['$scales', 'v128'],
      ['$d0', 'v128'], ['$d1', 'v128'], ['$d2', 'v128'], ['$d3', 'v128'], ['$sum01', 'v128'],
      ['$lowNibble', 'v128'], ['$lowNibble16', 'v128'], ['$bit4', 'v128'], ['$bit4x8', 'v128'], ['$bits45', 'v128'], ['$thirtyTwo', 'v128'],
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
  i32.const ${0x00100010}
  i32x4.splat
  local.set $bit4
  i32.const ${0x10}
  i8x16.splat
  local.set $bit4x8
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
      ${forEachToken(`                  ;; every token over this row while it is in L1
        f32.const 0
        f32x4.splat
        local.set $acc
        local.get $w
        local.set $p
        local.get $xq
        local.get $t
        local.get $superBlocks
        i32.mul
        i32.const ${xqBytes}
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
          ${advance('$p', blockBytes)}
          ${advance('$q', xqBytes)}
          ${advance('$s', XS_BYTES)}
          ${countDown('$b', '$superBlock')}
        end
        local.get $y
        local.get $t
        local.get $yStride
        i32.mul
        i32.const 2
        i32.shl
        i32.add                        ;; &Y[t, r]
        ${horizontalSum('$acc')}
        f32.store`)}
      local.get $w
      local.get $rowBytes
      i32.add
      local.set $w
      ${advance('$y', 4)}
      ${countDown('$rows', '$rowLoop')}
    end
  end`,
  };
}

/**
 * `q4_k_matvec($w, $rows, $superBlocks, $xq, $xs, $y, $tokens, $yStride)`, `q5_k_matvec(...)` and
 * `q6_k_matvec(...)`: byte
 * offsets of the GGUF rows W [rows, 256·superBlocks] (rows · superBlocks blocks, row after row), the
 * activation codes xq [tokens, 256·superBlocks] i16 and pairs xs [tokens, 8·superBlocks]
 * (quantize_x_i16 over all tokens at once), and Y (Y[t, r] at y + 4·(t·yStride + r)); superBlocks ≥ 1,
 * tokens ≥ 1, rows ≥ 0.
 */
export const q4KMatvec = kQuantMatvec('q4_k_matvec', Q4_K_BYTES, nibbleSuperBlock(Q4_K_LAYOUT));
export const q5KMatvec = kQuantMatvec('q5_k_matvec', Q5_K_BYTES, nibbleSuperBlock(Q5_K_LAYOUT));
export const q6KMatvec = kQuantMatvec('q6_k_matvec', Q6_K_BYTES, q6kSuperBlock);

/** `q4_k_i8_matvec(...)`: Q4_K against int8 activation codes xq [tokens, 256·superBlocks] i8 (quantize_x_i8); needs relaxed SIMD. */
export const q4KI8Matvec = kQuantMatvec('q4_k_i8_matvec', Q4_K_BYTES, nibbleSuperBlock(Q4_K_I8_LAYOUT), XQ_I8_BYTES);
/** `q5_k_i8_matvec(...)`: the same for Q5_K. */
export const q5KI8Matvec = kQuantMatvec('q5_k_i8_matvec', Q5_K_BYTES, nibbleSuperBlock(Q5_K_I8_LAYOUT), XQ_I8_BYTES);
