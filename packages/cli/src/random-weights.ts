/**
 * Random weights with the real dimensions of published Phi-3 models, built in memory, for
 * `phi3 bench --random`: speed and memory depend only on shapes and storage format, so no
 * multi-gigabyte download is needed to measure them.
 */
import { createRng, fillUniform, denseMatrix } from '@phi3/tensor';
import {
  ConfigReader, InvalidArgumentError, variantForModelType, type ModelConfig, type TensorInfo, type WeightSource,
} from '@phi3/model';

/**
 * config.json values of the published checkpoints (HF microsoft/Phi-3-mini-4k-instruct,
 * microsoft/Phi-3-small-8k-instruct and microsoft/Phi-3-medium-4k-instruct), the fields our config
 * parsers read. Phi-3-small's dummy token ids come from its tokenizer (see phi3-small-config.ts).
 */
export const RANDOM_PRESETS = {
  'phi-3-mini': {
    model_type: 'phi3', vocab_size: 32064, hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 4096,
    original_max_position_embeddings: 4096, rope_theta: 10000.0, rms_norm_eps: 1e-5, sliding_window: 2047,
    tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 32000, pad_token_id: 32000, hidden_act: 'silu',
  },
  'phi-3-small': {
    model_type: 'phi3small', vocab_size: 100352, hidden_size: 4096, ff_intermediate_size: 14336, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 8192, rope_embedding_base: 1000000,
    rope_position_scale: 1.0, layer_norm_epsilon: 1e-5, hidden_act: 'gegelu', gegelu_limit: 20.0, gegelu_pad_to_256: true,
    blocksparse_block_size: 64, blocksparse_num_local_blocks: 16, blocksparse_vert_stride: 8,
    blocksparse_homo_head_pattern: false, blocksparse_triton_kernel_block_size: 64, dense_attention_every_n_layers: 2,
    mup_attn_multiplier: 1.0, mup_embedding_multiplier: 10.0, mup_use_scaling: true, mup_width_multiplier: 8.0,
    bos_token_id: 100257, eos_token_id: 100257,
  },
  'phi-3-medium': {
    model_type: 'phi3', vocab_size: 32064, hidden_size: 5120, intermediate_size: 17920, num_hidden_layers: 40,
    num_attention_heads: 40, num_key_value_heads: 10, max_position_embeddings: 4096,
    original_max_position_embeddings: 4096, rope_theta: 10000.0, rms_norm_eps: 1e-5, sliding_window: 2047,
    tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 32000, pad_token_id: 32000, hidden_act: 'silu',
  },
} as const;

export type RandomPreset = keyof typeof RANDOM_PRESETS;

/**
 * The preset's config, optionally cut to its first `layers` layers (quick runs at full width).
 * @throws InvalidArgumentError for an unknown preset name, or `layers` outside [1, the preset's layers]
 *         (more would add full-width random layers the real model does not have: gigabytes each)
 */
export function randomPresetConfig(name: string, layers?: number): ModelConfig {
  if (!(name in RANDOM_PRESETS)) {
    throw new InvalidArgumentError(`unknown --random model "${name}" (available: ${Object.keys(RANDOM_PRESETS).join(', ')})`);
  }
  const preset = RANDOM_PRESETS[name as RandomPreset];
  if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1 && layers <= preset.num_hidden_layers)) {
    throw new InvalidArgumentError(`invalid --layers ${layers}: ${name} has ${preset.num_hidden_layers} layers (keep 1 to ${preset.num_hidden_layers})`);
  }
  const raw = { ...preset, ...(layers === undefined ? {} : { num_hidden_layers: layers }) };
  const reader = new ConfigReader(raw, `--random ${name}`);
  return variantForModelType(raw.model_type, `--random ${name}`).parseConfig(reader);
}

/** Name → shape of every tensor of a checkpoint with this config (phi3 and phi3small layouts). */
export function tensorShapes(c: ModelConfig): Map<string, readonly number[]> {
  if (c.kind !== 'phi3' && c.kind !== 'phi3small') {
    throw new InvalidArgumentError(`random weights are implemented for phi3 and phi3small models, not ${c.kind}`);
  }
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F, vocabSize: V } = c;
  const qkvRows = (H + 2 * Hkv) * Dh;
  const shapes = new Map<string, readonly number[]>([['model.embed_tokens.weight', [V, D]]]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    if (c.kind === 'phi3') {
      // weights/names.ts phi3LayerNames
      shapes.set(`${p}.input_layernorm.weight`, [D]);
      shapes.set(`${p}.self_attn.qkv_proj.weight`, [qkvRows, D]); // rows Q, K, V
      shapes.set(`${p}.self_attn.o_proj.weight`, [D, H * Dh]);
      shapes.set(`${p}.post_attention_layernorm.weight`, [D]);
      shapes.set(`${p}.mlp.gate_up_proj.weight`, [2 * F, D]); // rows gate, up
      shapes.set(`${p}.mlp.down_proj.weight`, [D, F]);
    } else {
      // variants/phi3-small.ts phi3SmallLayerNames: LayerNorms and linears all have biases
      const linear = (name: string, rows: number, cols: number): void => {
        shapes.set(`${p}.${name}.weight`, [rows, cols]);
        shapes.set(`${p}.${name}.bias`, [rows]);
      };
      shapes.set(`${p}.input_layernorm.weight`, [D]).set(`${p}.input_layernorm.bias`, [D]);
      linear('self_attn.query_key_value', qkvRows, D);
      linear('self_attn.dense', D, H * Dh);
      shapes.set(`${p}.post_attention_layernorm.weight`, [D]).set(`${p}.post_attention_layernorm.bias`, [D]);
      linear('mlp.up_proj', 2 * F, D);
      linear('mlp.down_proj', D, F);
    }
  }
  if (c.kind === 'phi3') shapes.set('model.norm.weight', [D]);
  else shapes.set('model.final_layernorm.weight', [D]).set('model.final_layernorm.bias', [D]);
  if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [V, D]);
  return shapes;
}

/**
 * A WeightSource that makes each tensor when it is read: norm weights 1, biases 0, matrices uniform
 * with the std of HF's init (0.02), seeded per tensor so runs are reproducible. Nothing is kept here: the
 * model holds the only copy (quantized if wrapped with `quantizeWeights`).
 */
export function randomWeightSource(shapes: ReadonlyMap<string, readonly number[]>, seed: number, description: string): WeightSource {
  const lookup = (name: string): readonly number[] => {
    const shape = shapes.get(name);
    if (shape === undefined) throw new InvalidArgumentError(`${description}: no tensor "${name}"`);
    return shape;
  };
  const make = (name: string): Float32Array => {
    const shape = lookup(name);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 1) return name.endsWith('.bias') ? data : data.fill(1);
    const bound = 0.02 * Math.sqrt(3); // uniform(-b, b) has std b / √3
    fillUniform(data, createRng(seed ^ hashName(name)), -bound, bound);
    return data;
  };
  return {
    description,
    names: () => [...shapes.keys()],
    has: (name) => shapes.has(name),
    info: (name): TensorInfo => ({ name, shape: lookup(name), dtype: 'F32' }),
    getF32: make,
    getMatrix: (name) => {
      const shape = lookup(name);
      return denseMatrix(make(name), shape[0], shape[1]);
    },
    close: () => {},
  };
}

/** FNV-1a of a tensor name: a per-tensor seed. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
