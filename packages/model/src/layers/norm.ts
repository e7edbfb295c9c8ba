/**
 * The three norms of every Phi-3-family decoder: per layer `input_layernorm` (before attention) and
 * `post_attention_layernorm` (before the ffn), plus the model's final norm. Phi-3 uses RMSNorm
 * (HF `Phi3RMSNorm`); Phi-3.5-MoE and Phi-3-small use `nn.LayerNorm` with bias.
 */
import { layerNormInto, rmsNormInto, wasmRmsNormInto } from '@phi3/tensor';
import type { DecoderVariant } from '../decoder.ts';
import { activation, type ActivationBuffers } from './activations.ts';
import { readTensor, type WeightSource } from '../weights/source.ts';

/** The norm weights a decoder layer holds (HF attribute names). */
export interface LayerNorms<N> {
  /** before attention */
  readonly inputNorm: N;
  /** before the feed-forward block */
  readonly postAttentionNorm: N;
}

/** `nn.LayerNorm` parameters. */
export interface LayerNormWeights {
  /** [D] f32 */
  readonly weight: Float32Array;
  /** [D] f32 */
  readonly bias: Float32Array;
}

/** Reads `${name}.weight` and `${name}.bias`, both [D] (WeightsFormatError naming the tensor otherwise). */
export function readLayerNorm(w: WeightSource, name: string, D: number): LayerNormWeights {
  return { weight: readTensor(w, `${name}.weight`, [D]), bias: readTensor(w, `${name}.bias`, [D]) };
}

/** The norm the decoder asks for: layer l's 'attn' or 'ffn' norm, or the final one. */
function pick<N>(layers: readonly LayerNorms<N>[], final: N, l: number, which: 'attn' | 'ffn' | 'final'): N {
  if (which === 'final') return final;
  return which === 'attn' ? layers[l].inputNorm : layers[l].postAttentionNorm;
}

/**
 * RMSNorm y = w · x / sqrt(mean(x²) + eps), no bias (HF `Phi3RMSNorm`).
 * @param layers  per layer [D] f32 weights; final [D] f32
 * @param buffers where the outputs go (the 'norm' buffer, valid until the next norm), else fresh arrays
 * @returns the decoder's `norm`: [T, D] f32 → [T, D] f32
 */
export function rmsNorms(
  layers: readonly LayerNorms<Float32Array>[], final: Float32Array, D: number, eps: number, buffers?: ActivationBuffers,
): DecoderVariant['norm'] {
  return (x, T, l, which) => {
    const out = activation(buffers, 'norm', T * D);
    const weight = pick(layers, final, l, which);
    // weights in wasm memory (placeWeights): the SIMD kernel, in f32; otherwise the reference, in f64
    if (!wasmRmsNormInto(out, x, weight, T, D, eps)) rmsNormInto(out, x, weight, T, D, eps);
    return out;
  };
}

/**
 * LayerNorm y = (x − mean) / sqrt(var + eps) · w + b, biased variance, eps inside the sqrt (`nn.LayerNorm`).
 * @param buffers where the outputs go (the 'norm' buffer, valid until the next norm), else fresh arrays
 * @returns the decoder's `norm`: [T, D] f32 → [T, D] f32
 */
export function layerNorms(
  layers: readonly LayerNorms<LayerNormWeights>[], final: LayerNormWeights, D: number, eps: number, buffers?: ActivationBuffers,
): DecoderVariant['norm'] {
  return (x, T, l, which) => {
    const ln = pick(layers, final, l, which);
    const out = activation(buffers, 'norm', T * D);
    layerNormInto(out, x, ln.weight, ln.bias, T, D, eps);
    return out;
  };
}
