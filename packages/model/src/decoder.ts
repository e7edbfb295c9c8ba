/**
 * The decoder loop shared by every Phi-3-family model (HF `Phi3Model.forward`):
 *
 *   h = embed(tokens)
 *   for each layer l:  h += attention(norm_attn(h));  h += ffn(norm_ffn(h))
 *   logits = head(norm_final(h))
 *
 * A variant file (variants/*.ts) supplies what differs as plain functions closing over its weights
 * (norm kind, qkv layout, RoPE kind, mask, attention scale, ffn kind, embedding scale, head).
 */
import { addInto } from '@phi3/tensor';
import type { DecoderConfig } from './config.ts';
import { InvalidArgumentError } from './errors.ts';
import type { KvCache } from './layers/kv-cache.ts';

/** Named intermediates, following llama.cpp's `cb(cur, name, il)` and HF `output_hidden_states`. */
export type TapName =
  /** [T, D] token embeddings (input of layer 0); layer = -1 */
  | 'embeddings'
  /** [T, D] residual stream after decoder layer `layer` */
  | 'layer_output'
  /** [T, D] final norm applied to the last layer's output; layer = L */
  | 'final_norm'
  /** [T, E] mixture-of-experts gate output of layer `layer` (HF `router_logits`) */
  | 'router_logits'
  /** [T, K] experts each token is routed to, as f32-held integers (HF `selected_experts`) */
  | 'router_experts'
  /** [T, K] multipliers of those experts' outputs (HF `routing_weights`) */
  | 'router_weights';

/** Receives intermediates during a forward; `data` is only valid during the call (copy to keep). */
export type TapFn = (name: TapName, layer: number, data: Float32Array) => void;

/**
 * What a variant supplies to the shared loop. Shapes: T tokens in this call, D hidden, V vocab.
 * norm / attention / ffn may return a reused buffer (layers/activations.ts), valid until the same
 * function's next call: the loop consumes each result before asking for the next. embed and head
 * return fresh arrays (the residual stream; logits the caller keeps).
 */
export interface DecoderVariant {
  readonly config: DecoderConfig;
  /**
   * Generation policy at the LongRoPE switch (read by session.ts): the first time a feed makes the
   * total length exceed this while the cache holds no more than this many positions, the session drops
   * the cache and re-runs the whole sequence causally (HF Phi-3 `prepare_inputs_for_generation`).
   * null = never rebuild (plain RoPE, or variants whose reference keeps the cache).
   */
  readonly rebuildCacheAbove: number | null;
  /** Token ids → embeddings (times any embedding multiplier). @returns [T, D] f32 (fresh) */
  embed(tokens: readonly number[]): Float32Array;
  /** The norm before attention ('attn'), before the ffn ('ffn'), or the final one ('final', layer = L). @returns [T, D] f32 */
  norm(x: Float32Array, T: number, layer: number, which: 'attn' | 'ffn' | 'final'): Float32Array;
  /** Self-attention of T new tokens at positions [cache.length, cache.length + T); writes layer's K/V. @returns [T, D] f32 */
  attention(x: Float32Array, T: number, layer: number, cache: KvCache): Float32Array;
  /** Feed-forward block (dense MLP or mixture of experts; MoE reports its routing to `tap`). @returns [T, D] f32 */
  ffn(x: Float32Array, T: number, layer: number, tap?: TapFn): Float32Array;
  /** Output head. @param h [T, D] f32 (final-normed) @returns [T, V] f32 */
  head(h: Float32Array, T: number): Float32Array;
}

/** Options of one forward pass. */
export interface ForwardOptions {
  /** Return logits for every new token ([T, V]); default only the last one ([V]). */
  readonly allLogits?: boolean;
  /** Intermediate-tensor hook (verify uses it to locate the first diverging layer). */
  readonly tap?: TapFn;
  /** Precomputed input embeddings [T, D] f32 replacing `embed(tokens)` (vision: image features spliced in). */
  readonly embeddings?: Float32Array;
}

/**
 * Runs T new tokens through the decoder, appending their keys/values to `cache` and committing them.
 * @param tokens [T] token ids (positions cache.length .. cache.length + T - 1)
 * @returns [T, V] f32 logits with `allLogits`, else [V] f32 for the last token
 */
export function forwardDecoder(v: DecoderVariant, tokens: readonly number[], cache: KvCache, opts: ForwardOptions = {}): Float32Array {
  const T = tokens.length;
  const { hiddenSize: D, nLayers: L } = v.config;
  if (opts.embeddings !== undefined && opts.embeddings.length !== T * D) {
    throw new InvalidArgumentError(`embeddings hold ${opts.embeddings.length} floats, expected ${T} tokens × ${D}`);
  }
  const h = opts.embeddings?.slice() ?? v.embed(tokens); // residual stream [T, D]
  opts.tap?.('embeddings', -1, h);
  for (let l = 0; l < L; l++) {
    addInto(h, h, v.attention(v.norm(h, T, l, 'attn'), T, l, cache));
    addInto(h, h, v.ffn(v.norm(h, T, l, 'ffn'), T, l, opts.tap));
    opts.tap?.('layer_output', l, h);
  }
  cache.commit(T);
  // Inference-time saving (nanoGPT): only the last position needs the head unless asked otherwise.
  const rows = opts.allLogits || opts.tap ? T : 1;
  const normed = v.norm(h.subarray((T - rows) * D), rows, L, 'final');
  opts.tap?.('final_norm', L, normed);
  const logits = v.head(normed, rows);
  return opts.allLogits || rows === 1 ? logits : logits.subarray((rows - 1) * v.config.vocabSize);
}

