// Phi-3's MLP activation in SIMD128: act[t, f] = up[t, f] · silu(gate[t, f]) for the fused gate/up
// projection's output gu[t] = [gate (F); up (F)] (HF modeling_phi3.py `Phi3MLP.forward`), with
// silu(g) = g / (1 + exp(−g)). WebAssembly has no exp: exp(x) = 2^k · p(r), k = round(x · log2 e),
// r = x − k · ln 2 in two parts (Cody–Waite), p the degree-6 Taylor polynomial (|r| ≤ ln 2 / 2:
// truncation < 1.2e-7 relative), 2^k built in the exponent bits; x is clamped to [−87, 87] so 2^k stays
// a normal f32. About 2 ulp, against the TypeScript reference's f64 Math.exp (tested in test/wasm/).
import type { FunctionSource } from '../assembler.ts';
import { advance, forEachToken } from './snippets.ts';

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375; // ln 2 split so k · LN2_HI is exact for |k| ≤ 127
const LN2_LO = -2.12194440e-4;
const TAYLOR = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]; // highest power first (Horner)

/** Pushes exp(v) (f32x4) for v128 local `v`; uses local $k. */
const expF32x4 = (v: string): string => `
      local.get ${v}
      f32.const -87
      f32x4.splat
      f32x4.max
      f32.const 87
      f32x4.splat
      f32x4.min
      local.tee ${v}
      f32.const ${LOG2E}
      f32x4.splat
      f32x4.mul
      f32x4.nearest
      local.set $k                     ;; k (as f32)
      local.get ${v}
      local.get $k
      f32.const ${LN2_HI}
      f32x4.splat
      f32x4.mul
      f32x4.sub
      local.get $k
      f32.const ${LN2_LO}
      f32x4.splat
      f32x4.mul
      f32x4.sub
      local.set ${v}                   ;; r = v − k · ln 2
      f32.const ${TAYLOR[0]}
      f32x4.splat${TAYLOR.slice(1).map((c) => `
      local.get ${v}
      f32x4.mul
      f32.const ${c}
      f32x4.splat
      f32x4.add`).join('')}
      local.get $k
      i32x4.trunc_sat_f32x4_s
      i32.const 127
      i32x4.splat
      i32x4.add
      i32.const 23
      i32x4.shl                        ;; 2^k as f32 bits
      f32x4.mul`;

/** Pushes the address of f32 element [$t, $f] of a row-major matrix at local `base` whose rows are `rowFloats` (pushed) floats long. */
const elementAddress = (base: string, rowFloats: string): string => `
        local.get ${base}
        local.get $t${rowFloats}
        i32.mul
        local.get $f
        i32.add
        i32.const 2
        i32.shl
        i32.add`;

/**
 * `swiglu($gu, $act, $tokens, $F, $f0, $f1)`: byte offsets of gu [tokens, 2F] f32 and act [tokens, F]
 * f32; writes act[t, f] for f in [f0, f1) (a multiple of 4 wide, so threads split the columns).
 */
export const swiglu: FunctionSource = {
  name: 'swiglu',
  params: [['$gu', 'i32'], ['$act', 'i32'], ['$tokens', 'i32'], ['$F', 'i32'], ['$f0', 'i32'], ['$f1', 'i32']],
  locals: [['$t', 'i32'], ['$f', 'i32'], ['$g', 'i32'], ['$o', 'i32'], ['$gate', 'v128'], ['$e', 'v128'], ['$k', 'v128']],
  body: `${forEachToken(`
    local.get $f0
    local.set $f
    block $colsDone
      loop $cols
        local.get $f
        local.get $f1
        i32.ge_u
        br_if $colsDone
        ${elementAddress('$gu', `
        local.get $F
        i32.const 1
        i32.shl`)}
        local.set $g                   ;; &gu[t, f] (gate; up is F floats on)
        ${elementAddress('$act', `
        local.get $F`)}
        local.set $o                   ;; &act[t, f]
        local.get $g
        v128.load
        local.tee $gate
        f32x4.neg
        local.set $e
        local.get $o
        local.get $g
        local.get $F
        i32.const 2
        i32.shl
        i32.add
        v128.load                      ;; up
        local.get $gate
        ${expF32x4('$e')}
        f32.const 1
        f32x4.splat
        f32x4.add
        f32x4.div                      ;; silu(gate) = gate / (1 + exp(−gate))
        f32x4.mul
        v128.store
        ${advance('$f', 4)}
        br $cols
      end
    end`)}`,
};
