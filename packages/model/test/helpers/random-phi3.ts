// Tiny random Phi-3 models built in memory (config parsed from a raw HF-style object, weights in an
// InMemorySource), for property tests of the decoder, cache and session.
import { createRng } from '@phi3/tensor';
import { tensorMaker } from './random-tensors.ts';
import { buildModel, ConfigReader, InMemorySource, type Model } from '../../src/index.ts';
import { parsePhi3Config } from '../../src/variants/phi3.ts';

export interface RandomPhi3Options {
  seed: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  vocab?: number;
  layers?: number;
  maxPositions?: number;
  /** enables LongRoPE with this original_max_position_embeddings */
  originalMax?: number;
  slidingWindow?: number | null;
}

/** HF-style config.json object for the options. */
export function randomPhi3RawConfig(o: RandomPhi3Options): Record<string, unknown> {
  const hidden = o.hidden ?? 32;
  const heads = o.heads ?? 4;
  const half = hidden / heads / 2;
  const rng = createRng(o.seed + 1);
  const factors = (lo: number, hi: number) => Array.from({ length: half }, (_, j) => lo + ((hi - lo) * j) / half + 0.1 * rng.next());
  return {
    model_type: 'phi3',
    vocab_size: o.vocab ?? 64,
    hidden_size: hidden,
    intermediate_size: o.intermediate ?? 48,
    num_hidden_layers: o.layers ?? 2,
    num_attention_heads: heads,
    num_key_value_heads: o.kvHeads ?? heads,
    max_position_embeddings: o.maxPositions ?? 64,
    original_max_position_embeddings: o.originalMax ?? o.maxPositions ?? 64,
    rope_scaling: o.originalMax === undefined ? null : { type: 'longrope', short_factor: factors(1, 1.3), long_factor: factors(1, 12) },
    sliding_window: o.slidingWindow === undefined ? null : o.slidingWindow,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  };
}

/** Random weights [name, shape, data] for a raw config (HF tensor names). */
export function randomPhi3Tensors(raw: Record<string, unknown>, seed: number): Array<[string, number[], Float32Array]> {
  const c = parsePhi3Config(new ConfigReader(raw, 'random'));
  const t = tensorMaker(seed);
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F, vocabSize: V } = c;
  const out = [t('model.embed_tokens.weight', [V, D], 1), t('model.norm.weight', [D], 0.1, 1), t('lm_head.weight', [V, D], 0.3)];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      t(`${p}.input_layernorm.weight`, [D], 0.1, 1),
      t(`${p}.self_attn.qkv_proj.weight`, [(H + 2 * Hkv) * Dh, D], 0.3),
      t(`${p}.self_attn.o_proj.weight`, [D, H * Dh], 0.2),
      t(`${p}.post_attention_layernorm.weight`, [D], 0.1, 1),
      t(`${p}.mlp.gate_up_proj.weight`, [2 * F, D], 0.3),
      t(`${p}.mlp.down_proj.weight`, [D, F], 0.2),
    );
  }
  return out;
}

/** A ready model from a raw config and tensors. */
export function phi3ModelFrom(raw: Record<string, unknown>, tensors: Array<[string, number[], Float32Array]>): Model {
  return buildModel(parsePhi3Config(new ConfigReader(raw, 'random')), new InMemorySource(tensors));
}

/** A random tiny Phi-3 model. */
export function randomPhi3Model(o: RandomPhi3Options): Model {
  const raw = randomPhi3RawConfig(o);
  return phi3ModelFrom(raw, randomPhi3Tensors(raw, o.seed));
}

/** Random token ids in [0, vocab). */
export function randomTokens(n: number, vocab: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.next() * vocab));
}
