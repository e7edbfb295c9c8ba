// RMSNorm in SIMD128 (HF `Phi3RMSNorm`): y[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps), per row,
// for a range of rows so worker threads split the rows. The sum of squares runs in 16 f32 lanes,
// then a fixed-order horizontal sum; everything in f32, where the TypeScript reference
// (ops/norm.ts rmsNormInto) sums and scales in f64: the two agree to a few f32 ulp. D % 16 == 0.
import type { FunctionSource } from '../assembler.ts';
import { advance, countDown, f32Address, foldAccumulators4, horizontalSum, zeroAccumulators } from './snippets.ts';

/** Sets `local` to the byte address of row $r (D floats each) of the f32 matrix at `base`. */
const rowAt = (base: string, local: string): string => `${f32Address(base, '$r', '$D')}
    local.set ${local}`;

/** `rms_norm($x, $w, $y, $r0, $r1, $D, $epsBits)`: byte offsets of X, Y [rows, D] and w [D] (f32); writes rows [r0, r1); eps as f32 bits. */
export const rmsNorm: FunctionSource = {
  name: 'rms_norm',
  params: [['$x', 'i32'], ['$w', 'i32'], ['$y', 'i32'], ['$r0', 'i32'], ['$r1', 'i32'], ['$D', 'i32'], ['$epsBits', 'i32']],
  locals: [['$r', 'i32'], ['$px', 'i32'], ['$pw', 'i32'], ['$py', 'i32'], ['$c', 'i32'], ['$v', 'v128'], ['$inv', 'v128'], ['$sum', 'v128'],
    ['$acc0', 'v128'], ['$acc1', 'v128'], ['$acc2', 'v128'], ['$acc3', 'v128']],
  body: `
  local.get $r0
  local.set $r
  block $rowsDone
    loop $rows
      local.get $r
      local.get $r1
      i32.ge_u
      br_if $rowsDone
      ${rowAt('$x', '$px')}
      ${zeroAccumulators(4)}
      local.get $D
      i32.const 4
      i32.shr_u
      local.set $c                     ;; D / 16 steps
      loop $squares${[0, 1, 2, 3].map((a) => `
        local.get $px
        v128.load offset=${16 * a}
        local.tee $v
        local.get $v
        f32x4.mul                      ;; x²
        local.get $acc${a}
        f32x4.add
        local.set $acc${a}`).join('')}
        ${advance('$px', 64)}
        ${countDown('$c', '$squares')}
      end
      ${foldAccumulators4}
      local.set $sum
      f32.const 1
      ${horizontalSum('$sum')}
      local.get $D
      f32.convert_i32_s
      f32.div
      local.get $epsBits
      f32.reinterpret_i32
      f32.add
      f32.sqrt
      f32.div
      f32x4.splat
      local.set $inv                   ;; 1 / sqrt(mean(x²) + eps)
      ${rowAt('$x', '$px')}
      ${rowAt('$y', '$py')}
      local.get $w
      local.set $pw
      local.get $D
      i32.const 2
      i32.shr_u
      local.set $c                     ;; D / 4 steps
      loop $scale
        local.get $py
        local.get $pw
        v128.load
        local.get $px
        v128.load
        local.get $inv
        f32x4.mul
        f32x4.mul
        v128.store                     ;; w · (x · inv), as the reference orders it
        ${advance('$px', 16)}
        ${advance('$pw', 16)}
        ${advance('$py', 16)}
        ${countDown('$c', '$scale')}
      end
      ${advance('$r', 1)}
      br $rows
    end
  end`,
};
