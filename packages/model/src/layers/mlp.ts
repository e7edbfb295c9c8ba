/**
 * Feed-forward blocks shared across variants.
 */
import { linearInto, sigmoid, wasmSwiGluInto, wasmSwiGluMlpInto, type WeightMatrix } from '@phi3/tensor';
import { activation, type ActivationBuffers } from './activations.ts';

/**
 * Phi-3 MLP with a fused gate/up projection (HF modeling_phi3.py `Phi3MLP.forward`):
 * `down(up ⊙ silu(gate))` where `gate_up_proj` rows are [gate (F rows); up (F rows)].
 * @param x      [T, D] f32
 * @param gateUp [2F, D] matrix
 * @param down   [D, F] matrix
 * @param buffers where the output and intermediates go ('mlp', 'mlp.gate_up', 'mlp.act'), else fresh arrays
 * @returns [T, D] f32
 */
export function fusedSwiGluMlp(x: Float32Array, T: number, gateUp: WeightMatrix, down: WeightMatrix, buffers?: ActivationBuffers): Float32Array {
  const out = activation(buffers, 'mlp', T * down.rows);
  // weights in wasm memory: the steps below with the same kernels, their intermediates kept in wasm memory
  if (wasmSwiGluMlpInto(out, x, T, gateUp, down)) return out;
  const F = gateUp.rows / 2;
  const gu = activation(buffers, 'mlp.gate_up', T * 2 * F);
  linearInto(gu, x, gateUp, T);
  const act = activation(buffers, 'mlp.act', T * F);
  // weights in wasm memory: the SIMD kernel (polynomial exp, ≈ 2 ulp); otherwise the reference loop
  if (!wasmSwiGluInto(act, gu, T, F, gateUp)) {
    for (let t = 0; t < T; t++) {
      const row = t * 2 * F; // gu[t] = [gate(F), up(F)]
      for (let i = 0; i < F; i++) {
        const g = gu[row + i];
        act[t * F + i] = gu[row + F + i] * (g * sigmoid(g)); // up * silu(gate)
      }
    }
  }
  linearInto(out, act, down, T);
  return out;
}
