// f32 prefill product in SIMD128: Y[t, r] = Σ_c w[r, c] · x[t, c] for T tokens at once, W [rows, cols]
// row-major f32. Each weight vector is loaded once and multiplied into four tokens' accumulators (the
// 4-token tile: 5 loads per 4 multiply-adds instead of f32-matvec.ts's 2 per 1), and rows are taken
// CHUNK_ROWS at a time so the chunk stays in L2 while every token group passes over it. Lanes
// accumulate in f32 like f32_matvec, so results agree with the reference up to f32 summation order.
import type { FunctionSource } from '../assembler.ts';
import { horizontalSum } from './snippets.ts';

/** Rows per chunk that all token groups visit before moving on (16 rows of 8192 f32 = 512 KiB). */
const CHUNK_ROWS = 16;

/** Dots the row at $p with tokens $t..$t+C−1 (x rows $q0..); stores Y[$t + k, chunk row $i]. */
function rowPass(C: number): string {
  const ks = [...Array(C).keys()];
  return `
      local.get $p
      local.set $pw
      ${ks.map((k) => `
      f32.const 0
      f32x4.splat
      local.set $acc${k}
      local.get $x
      local.get $t
      i32.const ${k}
      i32.add
      local.get $xStride
      i32.mul
      i32.add
      local.set $q${k}                 ;; x row of token t + ${k}`).join('')}
      local.get $cols
      i32.const 2
      i32.shr_u
      local.set $c                     ;; whole 4-column vectors (a count, not an end address: W may end at 4 GiB)
      block $vectorsDone${C}
        local.get $c
        i32.eqz
        br_if $vectorsDone${C}
        loop $vectors${C}              ;; 4 columns: acc_k += w[pw] · x_k[q_k]
          local.get $pw
          v128.load
          local.set $wv
          ${ks.map((k) => `
          local.get $wv
          local.get $q${k}
          v128.load
          f32x4.mul
          local.get $acc${k}
          f32x4.add
          local.set $acc${k}
          local.get $q${k}
          i32.const 16
          i32.add
          local.set $q${k}`).join('')}
          local.get $pw
          i32.const 16
          i32.add
          local.set $pw
          local.get $c
          i32.const 1
          i32.sub
          local.tee $c
          br_if $vectors${C}
        end
      end
      ${ks.map((k) => `
      ${horizontalSum(`$acc${k}`)}
      local.set $s${k}`).join('')}
      local.get $cols
      i32.const 3
      i32.and
      local.set $c
      block $tailDone${C}
        local.get $c
        i32.eqz
        br_if $tailDone${C}
        loop $tail${C}                 ;; the last cols % 4 columns, one at a time
          ${ks.map((k) => `
          local.get $pw
          f32.load
          local.get $q${k}
          f32.load
          f32.mul
          local.get $s${k}
          f32.add
          local.set $s${k}
          local.get $q${k}
          i32.const 4
          i32.add
          local.set $q${k}`).join('')}
          local.get $pw
          i32.const 4
          i32.add
          local.set $pw
          local.get $c
          i32.const 1
          i32.sub
          local.tee $c
          br_if $tail${C}
        end
      end
      ${ks.map((k) => `
      local.get $y
      local.get $i
      i32.const 2
      i32.shl
      i32.add
      local.get $t
      i32.const ${k}
      i32.add
      local.get $yStride
      i32.mul
      i32.const 2
      i32.shl
      i32.add                          ;; &Y[t + ${k}, chunk row i]
      local.get $s${k}
      f32.store`).join('')}`;
}

/** Every row of the current chunk against tokens $t..$t+C−1. */
function chunkRows(C: number): string {
  return `
    i32.const 0
    local.set $i
    local.get $w
    local.set $p
    loop $rows${C}
      ${rowPass(C)}
      local.get $p
      local.get $xStride
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

/**
 * `f32_matmul($w, $rows, $cols, $x, $y, $tokens, $yStride)`: byte offsets of W [rows, cols] f32,
 * X [tokens, cols] f32 and Y (row t at y + 4·t·yStride; columns [0, rows) written); rows, cols,
 * tokens ≥ 1.
 */
export const f32Matmul: FunctionSource = {
  name: 'f32_matmul',
  params: [['$w', 'i32'], ['$rows', 'i32'], ['$cols', 'i32'], ['$x', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32']],
  locals: [
    ['$xStride', 'i32'], ['$c', 'i32'], ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'], ['$p', 'i32'], ['$pw', 'i32'],
    ['$q0', 'i32'], ['$q1', 'i32'], ['$q2', 'i32'], ['$q3', 'i32'],
    ['$s0', 'f32'], ['$s1', 'f32'], ['$s2', 'f32'], ['$s3', 'f32'],
    ['$wv', 'v128'], ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'],
  ],
  body: `
  local.get $cols
  i32.const 2
  i32.shl
  local.set $xStride                   ;; bytes of one row of W or X
  block $done
    loop $chunks
      local.get $rows
      i32.eqz
      br_if $done
      local.get $rows
      i32.const ${CHUNK_ROWS}
      local.get $rows
      i32.const ${CHUNK_ROWS}
      i32.lt_u
      select
      local.set $n                     ;; n = min(rows, ${CHUNK_ROWS})
      i32.const 0
      local.set $t
      block $groupsDone
        loop $groups                   ;; four tokens per pass over the chunk
          local.get $tokens
          local.get $t
          i32.sub
          i32.const 4
          i32.lt_u
          br_if $groupsDone
          ${chunkRows(4)}
          local.get $t
          i32.const 4
          i32.add
          local.set $t
          br $groups
        end
      end
      block $tailDone
        loop $tail                     ;; the last tokens % 4, one per pass
          local.get $t
          local.get $tokens
          i32.ge_u
          br_if $tailDone
          ${chunkRows(1)}
          local.get $t
          i32.const 1
          i32.add
          local.set $t
          br $tail
        end
      end
      local.get $w
      local.get $n
      local.get $xStride
      i32.mul
      i32.add
      local.set $w
      local.get $y
      local.get $n
      i32.const 2
      i32.shl
      i32.add
      local.set $y
      local.get $rows
      local.get $n
      i32.sub
      local.set $rows
      br $chunks
    end
  end`,
};
