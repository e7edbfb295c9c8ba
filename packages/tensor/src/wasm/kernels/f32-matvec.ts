// f32 decode matvec in SIMD128: y[r] = Σ_c w[r, c] · x[c] for W [rows, cols] row-major f32.
// Four independent f32x4 accumulators (16 columns per iteration) hide the add latency; a scalar
// loop takes the last cols % 16 columns. Lanes accumulate in f32 (the TS kernels use f64), so
// results agree with the reference up to f32 summation order.
import type { FunctionSource } from '../assembler.ts';
import { advance, countDown, foldAccumulators4, horizontalSum, mulAdd16 } from './snippets.ts';

/** `f32_matvec($w, $x, $y, $rows, $cols)`: byte offsets of W [rows, cols], x [cols], y [rows]; rows, cols ≥ 1. */
export const f32Matvec: FunctionSource = {
  name: 'f32_matvec',
  params: [['$w', 'i32'], ['$x', 'i32'], ['$y', 'i32'], ['$rows', 'i32'], ['$cols', 'i32']],
  locals: [
    ['$p', 'i32'], ['$q', 'i32'], ['$xEnd16', 'i32'], ['$xEnd', 'i32'], ['$s', 'f32'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128'],
  ],
  body: `
  local.get $w
  local.set $p                       ;; p walks W row after row: row r+1 starts where row r ends
  local.get $x
  local.get $cols
  i32.const -16
  i32.and
  i32.const 2
  i32.shl
  i32.add
  local.set $xEnd16                  ;; x + 4·(cols rounded down to 16)
  local.get $x
  local.get $cols
  i32.const 2
  i32.shl
  i32.add
  local.set $xEnd
  loop $row
    f32.const 0
    f32x4.splat
    local.tee $acc0
    local.tee $acc1
    local.tee $acc2
    local.set $acc3
    local.get $x
    local.set $q
    block $vectorsDone
      local.get $q
      local.get $xEnd16
      i32.ge_u
      br_if $vectorsDone
      loop $vectors                  ;; 16 columns: acc_k += w[p + 16k] · x[q + 16k]
        ${mulAdd16('$p', '$q')}
        ${advance('$p', 64)}
        local.get $q
        i32.const 64
        i32.add
        local.tee $q
        local.get $xEnd16
        i32.lt_u
        br_if $vectors
      end
    end
    ${foldAccumulators4}
    local.set $acc0
    ${horizontalSum('$acc0')}
    local.set $s
    block $tailDone
      local.get $q
      local.get $xEnd
      i32.ge_u
      br_if $tailDone
      loop $tail                     ;; the last cols % 16 columns, one at a time
        local.get $p
        f32.load
        local.get $q
        f32.load
        f32.mul
        local.get $s
        f32.add
        local.set $s
        ${advance('$p', 4)}
        local.get $q
        i32.const 4
        i32.add
        local.tee $q
        local.get $xEnd
        i32.lt_u
        br_if $tail
      end
    end
    local.get $y
    local.get $s
    f32.store
    ${advance('$y', 4)}
    ${countDown('$rows', '$row')}
  end`,
};
