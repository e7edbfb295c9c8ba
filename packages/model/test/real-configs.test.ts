// The field sets of the real checkpoints' config.json (Phi-3-small-8k/128k-instruct, Phi-3.5-MoE-instruct,
// Phi-3.5-mini-instruct, Phi-3-mini-4k-instruct), with the real sizes and the LongRoPE factor lists
// replaced by placeholders of the right length: every key they hold must parse, to the values the
// models run with.
import { describe, expect, it } from 'vitest';
import { ConfigReader } from '../src/config.ts';
import { parsePhi3Config } from '../src/variants/phi3.ts';
import { parsePhi3SmallConfig } from '../src/variants/phi3-small-config.ts';
import { parsePhimoeConfig } from '../src/variants/phimoe-config.ts';
import { isDenseAttentionLayer } from '../src/variants/phi3-small.ts';

const factors = (n: number, v: number) => Array.from({ length: n }, () => v);

const PHI3_SMALL_8K = {
  _name_or_path: 'Phi-3-small-8k-instruct', architectures: ['Phi3SmallForCausalLM'], attention_dropout_prob: 0.0,
  auto_map: { AutoConfig: 'configuration_phi3_small.Phi3SmallConfig', AutoModelForCausalLM: 'modeling_phi3_small.Phi3SmallForCausalLM', AutoTokenizer: 'tokenization_phi3_small.Phi3SmallTokenizer' },
  blocksparse_block_size: 64, blocksparse_homo_head_pattern: false, blocksparse_num_local_blocks: 16,
  blocksparse_triton_kernel_block_size: 64, blocksparse_vert_stride: 8, bos_token_id: 100257, dense_attention_every_n_layers: 2,
  embedding_dropout_prob: 0.1, eos_token_id: 100257, ff_dim_multiplier: null, ff_intermediate_size: 14336, ffn_dropout_prob: 0.1,
  gegelu_limit: 20.0, gegelu_pad_to_256: true, hidden_act: 'gegelu', hidden_size: 4096, initializer_range: 0.02,
  layer_norm_epsilon: 1e-5, max_position_embeddings: 8192, model_type: 'phi3small', mup_attn_multiplier: 1.0,
  mup_embedding_multiplier: 10.0, mup_use_scaling: true, mup_width_multiplier: 8.0, num_attention_heads: 32, num_hidden_layers: 32,
  num_key_value_heads: 8, pad_sequence_to_multiple_of_64: true, reorder_and_upcast_attn: false, rope_embedding_base: 1000000,
  rope_position_scale: 1.0, rope_scaling: null, torch_dtype: 'bfloat16', transformers_version: '4.38.1', use_cache: true,
  attention_bias: false, vocab_size: 100352,
};

const PHI3_SMALL_128K = {
  ...PHI3_SMALL_8K, _name_or_path: 'Phi-3-small-128k-instruct', max_position_embeddings: 131072,
  rope_scaling: { long_factor: factors(64, 2), long_mscale: 1.1902380714238083, original_max_position_embeddings: 8192, short_factor: factors(64, 1), short_mscale: 1.0, type: 'su' },
};

const PHI35_MOE = {
  _name_or_path: 'Phi-3.5-MoE-instruct', architectures: ['PhiMoEForCausalLM'], attention_bias: true, attention_dropout: 0.0,
  auto_map: { AutoConfig: 'configuration_phimoe.PhiMoEConfig', AutoModelForCausalLM: 'modeling_phimoe.PhiMoEForCausalLM' },
  bos_token_id: 1, eos_token_id: 32000, hidden_act: 'silu', hidden_dropout: 0.0, hidden_size: 4096, initializer_range: 0.02,
  input_jitter_noise: 0.01, intermediate_size: 6400, lm_head_bias: true, max_position_embeddings: 131072, model_type: 'phimoe',
  num_attention_heads: 32, num_experts_per_tok: 2, num_hidden_layers: 32, num_key_value_heads: 8, num_local_experts: 16,
  original_max_position_embeddings: 4096, output_router_logits: false, rms_norm_eps: 1e-5,
  rope_scaling: { long_factor: factors(64, 2), long_mscale: 1.243163121016122, original_max_position_embeddings: 4096, short_factor: factors(64, 1), short_mscale: 1.243163121016122, type: 'longrope' },
  rope_theta: 10000.0, router_aux_loss_coef: 0.0, router_jitter_noise: 0.01, sliding_window: 131072, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', transformers_version: '4.43.3', use_cache: true, vocab_size: 32064,
};

const PHI35_MINI = {
  _name_or_path: 'Phi-3.5-mini-instruct', architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0.0,
  auto_map: { AutoConfig: 'configuration_phi3.Phi3Config', AutoModelForCausalLM: 'modeling_phi3.Phi3ForCausalLM' },
  bos_token_id: 1, embd_pdrop: 0.0, eos_token_id: 32000, hidden_act: 'silu', hidden_size: 3072, initializer_range: 0.02,
  intermediate_size: 8192, max_position_embeddings: 131072, model_type: 'phi3', num_attention_heads: 32, num_hidden_layers: 32,
  num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000, resid_pdrop: 0.0, rms_norm_eps: 1e-5,
  rope_scaling: { long_factor: factors(48, 2), short_factor: factors(48, 1), type: 'longrope' },
  rope_theta: 10000.0, sliding_window: 262144, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.43.3',
  use_cache: true, vocab_size: 32064,
};

const PHI3_MINI_4K = {
  ...PHI35_MINI, _name_or_path: 'Phi-3-mini-4k-instruct', max_position_embeddings: 4096, rope_scaling: null, sliding_window: 2047,
  transformers_version: '4.40.2',
};

const reader = (raw: Record<string, unknown>) => new ConfigReader(raw, 'config.json');

describe('real checkpoint configs', () => {
  it('Phi-3-small-8k: muP, GEGLU, blocksparse layout, dense odd layers, cl100k dummy ids, plain RoPE base 1e6', () => {
    const c = parsePhi3SmallConfig(reader(PHI3_SMALL_8K));
    expect(c).toMatchObject({
      headDim: 128, nKvHeads: 8, intermediateSize: 14336, layerNormEps: 1e-5, gegeluLimit: 20, mupEmbeddingMultiplier: 10,
      mupAttnMultiplier: 1, mupWidthMultiplier: 8, mupUseScaling: true, ropeBase: 1e6, ropeScaling: null, tieWordEmbeddings: true,
      bosTokenId: 100257, eosTokenIds: [100257],
      blocksparse: { blockSize: 64, numLocalBlocks: 16, vertStride: 8, nHeads: 32, homoHeadPattern: false },
    });
    expect(c.dummyTokenIds).toHaveLength(91);
    expect(Array.from({ length: 32 }, (_, l) => l).filter((l) => isDenseAttentionLayer(c, l))).toEqual(Array.from({ length: 16 }, (_, i) => 2 * i + 1));
  });

  it('Phi-3-small-128k: "su" LongRoPE with both mscales, switching at 8192', () => {
    const c = parsePhi3SmallConfig(reader(PHI3_SMALL_128K));
    expect(c.ropeScaling).toMatchObject({ originalMaxPositionEmbeddings: 8192, shortMscale: 1, longMscale: 1.1902380714238083 });
    expect(c.maxPositionEmbeddings).toBe(131072);
  });

  it('Phi-3.5-MoE: 16 experts, biases, jitter 0.01, equal mscales, window 131072', () => {
    const c = parsePhimoeConfig(reader(PHI35_MOE));
    expect(c).toMatchObject({
      headDim: 128, nKvHeads: 8, nExperts: 16, nExpertsPerToken: 2, routerJitterNoise: 0.01, attentionBias: true, lmHeadBias: true,
      originalMaxPositionEmbeddings: 4096, slidingWindow: 131072, layerNormEps: 1e-5, bosTokenId: 1, eosTokenIds: [32000],
    });
    expect(c.ropeScaling).toMatchObject({ shortMscale: 1.243163121016122, longMscale: 1.243163121016122, originalMaxPositionEmbeddings: 4096 });
  });

  it('Phi-3.5-mini and Phi-3-mini-4k: LongRoPE (48 factors) / plain RoPE with the 2047-key window', () => {
    const mini35 = parsePhi3Config(reader(PHI35_MINI));
    expect(mini35).toMatchObject({ headDim: 96, nKvHeads: 32, originalMaxPositionEmbeddings: 4096, slidingWindow: 262144, tieWordEmbeddings: false });
    expect(mini35.ropeScaling?.longFactor).toHaveLength(48);
    const mini4k = parsePhi3Config(reader(PHI3_MINI_4K));
    expect(mini4k).toMatchObject({ ropeScaling: null, slidingWindow: 2047, maxPositionEmbeddings: 4096, padTokenId: 32000 });
  });
});
