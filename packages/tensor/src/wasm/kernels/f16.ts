// F16 weights (GGUF F16 files, e.g. the official "fp16" Phi-3 GGUFs) in SIMD128, decode and prefill:
//   Y[t, r] = Σ_c f32(W[r, c]) · x[t, c]          W [rows, cols] f16 row-major, x and Y f32
// Each f16 widens to f32 with integer ops: sign-extend to i32, shift left 13 (sign to bit 31, exponent
// and mantissa to bits 27…13), clear bits 30…28, multiply by 2^112 to rebias the exponent (15 → 127).
// Exact for every finite f16, normal or subnormal; Inf/NaN would come out finite, so placement checks
// for them first (f16_check). Rows are taken CHUNK_ROWS at a time and every token passes over a chunk
// while it is in L2. Four f32x4 accumulators per row (16 columns per step), f32 sums.
import type { FunctionSource } from '../assembler.ts';
import { advance, CHUNK_ROWS, chunksForEveryToken, countDown, f16HalfToF32x4, f16VectorConstants, foldAccumulators4, horizontalSum, zeroAccumulators } from './snippets.ts';

/** `f16_matmul($w, $rows, $cols, $x, $y, $tokens, $yStride)`: byte offsets of W [rows, cols] f16, X [tokens, cols] f32, Y (row t at y + 4·t·yStride, columns [0, rows)); cols a multiple of 16, rows, tokens ≥ 1. */
export const f16Matmul: FunctionSource = {
  name: 'f16_matmul',
  params: [['$w', 'i32'], ['$rows', 'i32'], ['$cols', 'i32'], ['$x', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32']],
  locals: [
    ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'], ['$p', 'i32'], ['$pw', 'i32'], ['$q', 'i32'], ['$k', 'i32'], ['$rowBytes', 'i32'],
    ['$h0', 'v128'], ['$h1', 'v128'], ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'],
    ['$f16Mask', 'v128'], ['$f16Rebias', 'v128'],
  ],
  body: `${f16VectorConstants}
  local.get $cols
  i32.const 1
  i32.shl
  local.set $rowBytes
  ${chunksForEveryToken('$rows', CHUNK_ROWS, '$rowBytes', 4, `
          ${zeroAccumulators(4)}
          local.get $p
          local.set $pw                ;; walks W[chunk row i]
          local.get $x
          local.get $t
          local.get $cols
          i32.mul
          i32.const 2
          i32.shl
          i32.add
          local.set $q                 ;; X[t]
          local.get $cols
          i32.const 4
          i32.shr_u
          local.set $k                 ;; cols / 16 steps
          loop $step
            local.get $pw
            v128.load
            local.set $h0
            local.get $pw
            v128.load offset=16
            local.set $h1
            ${[0, 1, 2, 3].map((a) => `${f16HalfToF32x4(`$h${a >> 1}`, a % 2 === 0)}
          local.get $q
          v128.load offset=${16 * a}
          f32x4.mul
          local.get $acc${a}
          f32x4.add
          local.set $acc${a}`).join('')}
            ${advance('$pw', 32)}
            ${advance('$q', 64)}
            ${countDown('$k', '$step')}
          end
          ${foldAccumulators4}
          local.set $acc0
          local.get $y
          local.get $t
          local.get $yStride
          i32.mul
          local.get $i
          i32.add
          i32.const 2
          i32.shl
          i32.add
          ${horizontalSum('$acc0')}
          f32.store                    ;; Y[t, chunk row i]`)}`,
};

/** `f16_check($src, $count, $flag)`: stores at flag (i32) 1 if any of the count f16 at src (count a multiple of 8, ≥ 8) is Inf or NaN, else 0. */
export const f16Check: FunctionSource = {
  name: 'f16_check',
  params: [['$src', 'i32'], ['$count', 'i32'], ['$flag', 'i32']],
  locals: [['$exponent', 'v128'], ['$bad', 'v128']],
  body: `
  i32.const ${0x7c00}
  i16x8.splat
  local.set $exponent
  loop $step
    local.get $src
    v128.load
    local.get $exponent
    v128.and
    local.get $exponent
    i16x8.eq                           ;; exponent bits all ones: Inf or NaN
    local.get $bad
    v128.or
    local.set $bad
    ${advance('$src', 16)}
    ${countDown('$count', '$step', 8)}
  end
  local.get $flag
  local.get $bad
  v128.any_true
  i32.store`,
};
