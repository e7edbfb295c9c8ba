// Phi-3's MLP activation in SIMD128: act[t, f] = up[t, f] · silu(gate[t, f]) for the fused gate/up
// projection's output gu[t] = [gate (F); up (F)] (HF modeling_phi3.py `Phi3MLP.forward`), with
// silu(g) = g / (1 + exp(−g)) and exp the polynomial of exp.ts (about 2 ulp, against the TypeScript
// reference's f64 Math.exp; tested in test/wasm/).
import type { FunctionSource } from '../assembler.ts';
import { EXP_LOCALS, expF32x4 } from './exp.ts';
import { advance, f32Address, forEachToken } from './snippets.ts';

/**
 * `swiglu($gu, $act, $tokens, $F, $f0, $f1)`: byte offsets of gu [tokens, 2F] f32 and act [tokens, F]
 * f32; writes act[t, f] for f in [f0, f1) (a multiple of 4 wide, so threads split the columns).
 */
export const swiglu: FunctionSource = {
  name: 'swiglu',
  params: [['$gu', 'i32'], ['$act', 'i32'], ['$tokens', 'i32'], ['$F', 'i32'], ['$f0', 'i32'], ['$f1', 'i32']],
  locals: [['$t', 'i32'], ['$f', 'i32'], ['$g', 'i32'], ['$o', 'i32'], ['$gate', 'v128'], ['$e', 'v128'], ...EXP_LOCALS],
  body: `${forEachToken(`
    local.get $f0
    local.set $f
    block $colsDone
      loop $cols
        local.get $f
        local.get $f1
        i32.ge_u
        br_if $colsDone
        ${f32Address('$gu', '$t', `
        local.get $F
        i32.const 1
        i32.shl`, '$f')}
        local.set $g                   ;; &gu[t, f] (gate; up is F floats on)
        ${f32Address('$act', '$t', '$F', '$f')}
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
