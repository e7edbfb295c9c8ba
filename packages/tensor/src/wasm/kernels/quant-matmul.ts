// Q8_0 / Q4_0 prefill product in SIMD128: Y[t, r] = Σ_b d_w[r, b] · d_x[t, b] · (Σ_j q_w · q_x) for
// T tokens at once, with the same exact integer block dots as quant-matvec.ts. Each weight block is
// unpacked once and dotted with four tokens' activation codes (the 4-token tile), and rows are taken
// 16 at a time (≈ 50 KiB of Q8_0 weights at phi-3-mini's width) so they stay in L2 while every token
// group passes over them: the weights stream from memory once per call, not once per token.
import type { FunctionSource } from '../assembler.ts';
import { Q4_0_LAYOUT, Q8_0_LAYOUT, type CodeLayout } from './code-layouts.ts';
import { f16ToF32, horizontalSum, outputAddress, rowChunksOverTokens } from './snippets.ts';

/** Rows per chunk that all token groups visit before moving on. */

/** Accumulates tokens $t..$t+C−1 against the row at $p; stores Y[$t + k, chunk row $i]. */
function rowPass(C: number, layout: CodeLayout): string {
  const ks = [...Array(C).keys()];
  return `
      local.get $p
      local.set $pb
      local.get $blocks
      local.set $b
      ${ks.map((k) => `
      f32.const 0
      f32x4.splat
      local.set $acc${k}
      local.get $xq
      local.get $t
      i32.const ${k}
      i32.add
      local.get $xqStride
      i32.mul
      i32.add
      local.set $q${k}                 ;; codes of token t + ${k}
      local.get $xs
      local.get $t
      i32.const ${k}
      i32.add
      local.get $xsStride
      i32.mul
      i32.add
      local.set $s${k}`).join('')}
      loop $blocks${C}
        ${layout.unpack('$pb')}
        ${f16ToF32('$pb')}
        local.set $dw
        ${ks.map((k) => `${[0, 1, 2, 3].map((j) => `
        local.get $q${k}
        v128.load offset=${16 * j}
        local.get $wv${j}
        i32x4.dot_i16x8_s${j > 0 ? '\n        i32x4.add' : ''}`).join('')}
        f32x4.convert_i32x4_s
        local.get $dw
        local.get $s${k}
        f32.load
        f32.mul                          ;; d_w · d_x, once per block and token
        f32x4.splat
        f32x4.mul
        local.get $acc${k}
        f32x4.add
        local.set $acc${k}
        local.get $q${k}
        i32.const 64
        i32.add
        local.set $q${k}
        local.get $s${k}
        i32.const 4
        i32.add
        local.set $s${k}`).join('')}
        local.get $pb
        i32.const ${layout.blockBytes}
        i32.add
        local.set $pb
        local.get $b
        i32.const 1
        i32.sub
        local.tee $b
        br_if $blocks${C}
      end
      ${ks.map((k) => `${outputAddress(k)}
      ${horizontalSum(`$acc${k}`)}
      f32.store`).join('')}`;
}

/** Every row of the current chunk against tokens $t..$t+C−1. */
function chunkRows(C: number, layout: CodeLayout): string {
  return `
    i32.const 0
    local.set $i
    local.get $w
    local.set $p
    loop $rows${C}
      ${rowPass(C, layout)}
      local.get $p
      local.get $rowBytes
      i32.add
      local.set $p
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $rows${C}
    end`;
}

function quantMatmul(layout: CodeLayout): FunctionSource {
  return {
    name: `${layout.name}_matmul`,
    params: [
      ['$w', 'i32'], ['$rows', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
    ],
    locals: [
      ['$rowBytes', 'i32'], ['$xqStride', 'i32'], ['$xsStride', 'i32'], ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'],
      ['$p', 'i32'], ['$pb', 'i32'], ['$b', 'i32'], ['$dw', 'f32'],
      ['$q0', 'i32'], ['$q1', 'i32'], ['$q2', 'i32'], ['$q3', 'i32'], ['$s0', 'i32'], ['$s1', 'i32'], ['$s2', 'i32'], ['$s3', 'i32'],
      ['$wv0', 'v128'], ['$wv1', 'v128'], ['$wv2', 'v128'], ['$wv3', 'v128'],
      ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'],
      ['$packed', 'v128'], ['$half', 'v128'], ['$lowNibble', 'v128'], ['$eight', 'v128'],
    ],
    body: `
  local.get $blocks
  i32.const ${layout.blockBytes}
  i32.mul
  local.set $rowBytes
  local.get $blocks
  i32.const 64
  i32.mul
  local.set $xqStride                  ;; one token's int16 codes
  local.get $blocks
  i32.const 4
  i32.mul
  local.set $xsStride                  ;; one token's block scales
  i32.const 15
  i8x16.splat
  local.set $lowNibble
  i32.const 8
  i8x16.splat
  local.set $eight
  ${rowChunksOverTokens(chunkRows(4, layout), chunkRows(1, layout), '$rowBytes')}`,
  };
}

/**
 * `q8_0_matmul($w, $rows, $blocks, $xq, $xs, $y, $tokens, $yStride)` and `q4_0_matmul(...)`:
 * byte offsets of the weight blocks [rows, blocks], activation codes xq [tokens, 32·blocks] i16 and
 * scales xs [tokens, blocks] f32 (quantize_x_i16 over all tokens at once), Y (row t at y + 4·t·yStride;
 * columns [0, rows) written); blocks ≥ 1, tokens ≥ 1. Scales go through the f16 table (snippets.ts).
 */
export const q8_0Matmul = quantMatmul(Q8_0_LAYOUT);
export const q4_0Matmul = quantMatmul(Q4_0_LAYOUT);
