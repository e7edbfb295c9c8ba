/**
 * Phi-3-small's MLP activation: GEGLU with clamps (HF remote code `modeling_phi3_small.py::gegelu`,
 * confirmed in fixtures/phi3small-notes.md §4.7). Three things differ from a textbook GEGLU:
 *  - the up projection's 2F outputs are split *interleaved* (a = even columns, b = odd columns);
 *  - the gate uses quick-GELU, a·sigmoid(1.702·a), after an upper-only clamp at `limit`;
 *  - the linear half is clamped to [−limit, limit] and shifted by +1.
 * ±inf pass both clamps unchanged (`torch.where(torch.isinf(x), x, x.clamp(...))`).
 */
import { quickGelu } from '@phi3/tensor';
import { activation, type ActivationBuffers } from './activations.ts';
import { project, type Linear } from './linear.ts';

/**
 * out[t, i] = quickGelu(min(a, limit)) · (clamp(b, −limit, limit) + 1) with a = u[t, 2i], b = u[t, 2i+1].
 * @param out   [T, F] f32 (written)
 * @param u     [T, 2F] f32, the output of mlp.up_proj (with bias)
 * @param limit HF: gegelu_limit (20.0 in the real model)
 */
export function gegluClampInto(out: Float32Array, u: Float32Array, T: number, F: number, limit: number): void {
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < F; i++) {
      const a = u[t * 2 * F + 2 * i]; // u[t, 0::2]: the gelu half
      const b = u[t * 2 * F + 2 * i + 1]; // u[t, 1::2]: the linear half
      const aClamped = Number.isFinite(a) ? Math.min(a, limit) : a;
      const bClamped = Number.isFinite(b) ? Math.min(Math.max(b, -limit), limit) : b;
      out[t * F + i] = quickGelu(aClamped) * (bClamped + 1);
    }
  }
}

/** Weights of one phi3small MLP (HF `mlp.up_proj` [2F, D] and `mlp.down_proj` [D, F], both with bias). */
export interface GegluMlpWeights {
  readonly up: Linear;
  readonly down: Linear;
}

/**
 * The whole MLP: down_proj(gegluClamp(up_proj(x))) (HF `Phi3SmallMLP.forward`; dropout is off at inference).
 * @param x       [T, D] f32
 * @param buffers where the output and intermediates go ('mlp', 'mlp.up', 'mlp.act'), else fresh arrays
 * @returns [T, D] f32
 */
export function gegluMlp(x: Float32Array, T: number, w: GegluMlpWeights, limit: number, buffers?: ActivationBuffers): Float32Array {
  const F = w.down.weight.cols;
  const u = project(x, T, w.up, buffers, 'mlp.up'); // [T, 2F]
  const act = activation(buffers, 'mlp.act', T * F); // [T, F]
  gegluClampInto(act, u, T, F, limit);
  return project(act, T, w.down, buffers, 'mlp'); // [T, D]
}
