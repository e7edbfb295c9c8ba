// Q8_0 / Q4_0 decode matvec in SIMD128, straight from GGUF block bytes:
//   y[r] = Σ_b d_w[r, b] · d_x[b] · (Σ_j q_w[r, 32b + j] · q_x[32b + j])
// The inner Σ is an exact integer dot (`i32x4.dot_i16x8_s` of int8/int4 weight codes widened to
// i16 against the int16 activation codes of quantize-x.ts); the f32 scales multiply once per block.
// On long rows, R rows per pass (CodeLayout.rowsPerPass) share each load of the activation codes; a
// one-row pass takes the rest, and all rows of shorter ones (MIN_BLOCKS_FOR_ROW_PASSES).
import type { FunctionSource } from '../assembler.ts';
import { Q4_0_LAYOUT, Q8_0_LAYOUT, type CodeLayout } from './code-layouts.ts';
import { f16ToF32, horizontalSum } from './snippets.ts';

/**
 * Rows shorter than this many blocks (8192 columns) run one row per pass: R interleaved short streams
 * defeat the hardware prefetcher. Measured one thread, weights from DRAM, GB/s with one row per pass
 * vs R rows per pass: Q8_0 [8192×3072] 21.5 vs 11.3, [8192×4096] 23.0 vs 12.4, [8192×5120] 21.5 vs
 * 13.5, [3072×8192] 13.6 vs 13.4; Q4_0 9.9 vs 5.0, 10.1 vs 6.2, 9.3 vs 6.7, and 6.8 vs 7.5 at 8192
 * columns, where the activation loads R rows share win.
 */
export const MIN_BLOCKS_FOR_ROW_PASSES = 256;

/** Body of one pass over all blocks of R rows starting at $p0..$p{R-1}; stores y[0..R) at $y. */
function rowsPass(R: number, layout: CodeLayout): string {
  const rows = [...Array(R).keys()];
  return `
    ${rows.map((i) => `
    f32.const 0
    f32x4.splat
    local.set $acc${i}`).join('')}
    local.get $xq
    local.set $q
    local.get $xs
    local.set $s
    local.get $blocks
    local.set $b
    loop $blocks${R}
      ${[0, 1, 2, 3].map((k) => `
      local.get $q
      v128.load offset=${16 * k}
      local.set $xv${k}`).join('')}
      local.get $s
      f32.load
      local.set $dx                    ;; the activation block's scale, shared by the rows
      ${rows.map((i) => `${layout.blockDot(`$p${i}`)}
      f32x4.convert_i32x4_s
      ${f16ToF32(`$p${i}`)}
      local.get $dx
      f32.mul                          ;; d_w · d_x, once per block
      f32x4.splat
      f32x4.mul
      local.get $acc${i}
      f32x4.add
      local.set $acc${i}
      local.get $p${i}
      i32.const ${layout.blockBytes}
      i32.add
      local.set $p${i}`).join('')}
      local.get $q
      i32.const 64
      i32.add
      local.set $q
      local.get $s
      i32.const 4
      i32.add
      local.set $s
      local.get $b
      i32.const 1
      i32.sub
      local.tee $b
      br_if $blocks${R}
    end
    ${rows.map((i) => `
    local.get $y
    ${horizontalSum(`$acc${i}`)}
    f32.store offset=${4 * i}`).join('')}`;
}

/** Sets $p0..$p{R-1} to consecutive rows starting at $w. */
function rowPointers(R: number): string {
  return [...Array(R).keys()].map((i) => i === 0 ? `
    local.get $w
    local.set $p0` : `
    local.get $p${i - 1}
    local.get $rowBytes
    i32.add
    local.set $p${i}`).join('');
}

/** Advances $w by R rows, $y by R outputs and counts R rows done. */
function advance(R: number): string {
  return `
    local.get $w
    local.get $rowBytes
    i32.const ${R}
    i32.mul
    i32.add
    local.set $w
    local.get $y
    i32.const ${4 * R}
    i32.add
    local.set $y
    local.get $rows
    i32.const ${R}
    i32.sub
    local.set $rows`;
}

function quantMatvec(layout: CodeLayout): FunctionSource {
  const R = layout.rowsPerPass;
  const perRow = (prefix: string, type: 'i32' | 'v128') => [...Array(R).keys()].map((i) => [`${prefix}${i}`, type] as const);
  return {
    name: `${layout.name}_matvec`,
    params: [['$w', 'i32'], ['$rows', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32']],
    locals: [
      ['$rowBytes', 'i32'], ['$b', 'i32'], ['$q', 'i32'], ['$s', 'i32'], ['$dx', 'f32'],
      ...perRow('$p', 'i32'), ...perRow('$acc', 'v128'),
      ['$xv0', 'v128'], ['$xv1', 'v128'], ['$xv2', 'v128'], ['$xv3', 'v128'],
      ['$packed', 'v128'], ['$half', 'v128'], ['$lowNibble', 'v128'], ['$eight', 'v128'],
    ],
    body: `
  local.get $blocks
  i32.const ${layout.blockBytes}
  i32.mul
  local.set $rowBytes
  i32.const 15
  i8x16.splat
  local.set $lowNibble
  i32.const 8
  i8x16.splat
  local.set $eight
  block $passDone
    local.get $blocks
    i32.const ${MIN_BLOCKS_FOR_ROW_PASSES}
    i32.lt_u
    br_if $passDone                    ;; short rows: one sequential stream (see MIN_BLOCKS_FOR_ROW_PASSES)
    loop $pass                         ;; R rows per pass
      local.get $rows
      i32.const ${R}
      i32.lt_u
      br_if $passDone
      ${rowPointers(R)}
      ${rowsPass(R, layout)}
      ${advance(R)}
      br $pass
    end
  end
  block $oneDone
    loop $one                          ;; the last rows % R, one per pass
      local.get $rows
      i32.eqz
      br_if $oneDone
      ${rowPointers(1)}
      ${rowsPass(1, layout)}
      ${advance(1)}
      br $one
    end
  end`,
  };
}

/**
 * `q8_0_matvec($w, $rows, $blocks, $xq, $xs, $y)` and `q4_0_matvec(...)`: byte offsets of the
 * weight blocks [rows, blocks], activation codes xq [32·blocks] i16 and scales xs [blocks] f32
 * (quantize_x_i16) and y [rows] f32; blocks ≥ 1. Scales go through the f16 table (snippets.ts).
 */
export const q8_0Matvec = quantMatvec(Q8_0_LAYOUT);
export const q4_0Matvec = quantMatvec(Q4_0_LAYOUT);
