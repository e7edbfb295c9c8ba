// Tiny random Phi-3-small models in memory, over the configs the held-out fixtures may use: block
// sizes, local blocks, vertical strides, homo/hetero heads, GQA ratios, dense_attention_every_n_layers,
// muP multipliers, gegelu limits, tied/untied heads, LongRoPE below its switch.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createRng } from '@phi3/tensor';
import { tensorMaker } from './helpers/random-tensors.ts';
import { buildModel, ConfigReader, InferenceSession, InMemorySource, type Model } from '../src/index.ts';
import { parsePhi3SmallConfig, type Phi3SmallConfig } from '../src/variants/phi3-small-config.ts';
import { FLOAT32_LOWEST } from '../src/variants/phi3-small.ts';

const SEED = { seed: 20261129 };

const configArb = fc.record({
  seed: fc.integer({ min: 1, max: 1e6 }),
  kvHeads: fc.constantFrom(1, 2),
  group: fc.constantFrom(1, 2, 4), // query heads per kv head (m)
  headDim: fc.constantFrom(2, 4, 6),
  layers: fc.integer({ min: 1, max: 3 }),
  blockSize: fc.integer({ min: 1, max: 6 }),
  localBlocks: fc.integer({ min: 1, max: 3 }),
  vertStride: fc.integer({ min: 1, max: 6 }),
  homo: fc.boolean(),
  denseEvery: fc.constantFrom<number | null>(null, 0, 1, 2, 3),
  embeddingMultiplier: fc.constantFrom(1, 2.5, 10),
  attnMultiplier: fc.constantFrom(0.5, 1, 2),
  widthMultiplier: fc.constantFrom(1, 3, 8),
  useScaling: fc.boolean(),
  gegeluLimit: fc.constantFrom(0.5, 2, 20),
  tied: fc.boolean(),
  longRope: fc.boolean(),
});
type RandomOptions = typeof configArb extends fc.Arbitrary<infer R> ? R : never;

const V = 40;
const MAX_POS = 64;
const ORIGINAL_MAX = 40; // LongRoPE switch; the sequences below stay at or under it

function rawConfig(o: RandomOptions): Record<string, unknown> {
  const H = o.kvHeads * o.group;
  const half = o.headDim / 2;
  return {
    model_type: 'phi3small', vocab_size: V, hidden_size: H * o.headDim, num_hidden_layers: o.layers,
    num_attention_heads: H, num_key_value_heads: o.kvHeads, ff_intermediate_size: 12, ff_dim_multiplier: null,
    max_position_embeddings: MAX_POS, layer_norm_epsilon: 1e-5, gegelu_limit: o.gegeluLimit, hidden_act: 'gegelu',
    blocksparse_block_size: o.blockSize, blocksparse_num_local_blocks: o.localBlocks, blocksparse_vert_stride: o.vertStride,
    blocksparse_homo_head_pattern: o.homo, dense_attention_every_n_layers: o.denseEvery,
    mup_embedding_multiplier: o.embeddingMultiplier, mup_attn_multiplier: o.attnMultiplier,
    mup_width_multiplier: o.widthMultiplier, mup_use_scaling: o.useScaling,
    rope_embedding_base: 10000, rope_position_scale: 1, tie_word_embeddings: o.tied,
    rope_scaling: o.longRope
      ? {
          type: 'su', original_max_position_embeddings: ORIGINAL_MAX, short_mscale: 1.05, long_mscale: 1.2,
          short_factor: Array.from({ length: half }, (_, j) => 1 + j / half), long_factor: Array.from({ length: half }, (_, j) => 2 + 4 * j),
        }
      : null,
    dummy_token_indices: [3, 17, V - 1],
  };
}

/** Random weights under the real HF names (fixtures/phi3small-notes.md §4.10). */
function randomTensors(c: Phi3SmallConfig, seed: number): Array<[string, number[], Float32Array]> {
  const t = tensorMaker(seed);
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F } = c;
  const out = [t('model.embed_tokens.weight', [V, D], 1), t('model.final_layernorm.weight', [D], 0.1, 1), t('model.final_layernorm.bias', [D], 0.1)];
  if (!c.tieWordEmbeddings) out.push(t('lm_head.weight', [V, D], 0.5));
  for (let l = 0; l < c.nLayers; l++) {
    const p = `model.layers.${l}`;
    for (const norm of ['input_layernorm', 'post_attention_layernorm']) out.push(t(`${p}.${norm}.weight`, [D], 0.1, 1), t(`${p}.${norm}.bias`, [D], 0.1));
    for (const [name, rows, cols] of [['self_attn.query_key_value', (H + 2 * Hkv) * Dh, D], ['self_attn.dense', D, H * Dh], ['mlp.up_proj', 2 * F, D], ['mlp.down_proj', D, F]] as const) {
      out.push(t(`${p}.${name}.weight`, [rows, cols], 0.6), t(`${p}.${name}.bias`, [rows], 0.2));
    }
  }
  return out;
}

function parse(raw: Record<string, unknown>): Phi3SmallConfig {
  return parsePhi3SmallConfig(new ConfigReader(raw, 'random'));
}

function randomModel(raw: Record<string, unknown>, seed: number): Model {
  const c = parse(raw);
  return buildModel(c, new InMemorySource(randomTensors(c, seed)));
}

function randomTokens(n: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

/** max |a − b| (dummy ids hold float32 lowest in both, so they add 0). */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('random phi3small models', () => {
  test.prop([configArb, fc.integer({ min: 2, max: ORIGINAL_MAX }), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 })], { ...SEED, numRuns: 25 })(
    'prefill then chunked decoding (session) equals one full forward, at or below the LongRoPE switch',
    (o, n, chunks) => {
      const model = randomModel(rawConfig(o), o.seed);
      const tokens = randomTokens(n, o.seed + 1);
      const full = model.forward(tokens, model.createCache(n), { allLogits: true }); // [n, V]
      const session = new InferenceSession(model, { maxTokens: n });
      let at = 0;
      for (const size of [...chunks, n]) {
        const step = tokens.slice(at, Math.min(n, at + size));
        if (step.length === 0) break;
        const rows = session.feed(step, { allLogits: true }); // [step, V]
        at += step.length;
        expect(maxDiff(rows, full.subarray((at - step.length) * V, at * V))).toBeLessThan(1e-4);
      }
      expect(at).toBe(n);
    },
  );

  test.prop([configArb, fc.integer({ min: 1, max: 30 })], { ...SEED, numRuns: 20 })(
    'block-sparse layers whose pattern allows every block (vert_stride 1, or enough local blocks) equal all-dense attention',
    (o, n) => {
      const tokens = randomTokens(n, o.seed + 2);
      const dense = randomModel({ ...rawConfig(o), dense_attention_every_n_layers: 1 }, o.seed);
      const sparseEverything = [
        { ...rawConfig(o), blocksparse_vert_stride: 1 },
        { ...rawConfig(o), blocksparse_num_local_blocks: Math.ceil(n / o.blockSize) + 1 },
      ];
      const expected = dense.forward(tokens, dense.createCache(n), { allLogits: true });
      for (const raw of sparseEverything) {
        const model = randomModel(raw, o.seed);
        expect(maxDiff(model.forward(tokens, model.createCache(n), { allLogits: true }), expected)).toBeLessThan(1e-4);
      }
    },
  );

  test.prop([configArb, fc.integer({ min: 1, max: 12 })], { ...SEED, numRuns: 15 })(
    'dummy ids get exactly float32 lowest in every row; every other logit is finite',
    (o, n) => {
      const model = randomModel(rawConfig(o), o.seed);
      const logits = model.forward(randomTokens(n, o.seed), model.createCache(n), { allLogits: true });
      const dummy = new Set(model.config.kind === 'phi3small' ? model.config.dummyTokenIds : []);
      expect(dummy.size).toBe(3);
      for (let i = 0; i < logits.length; i++) {
        if (dummy.has(i % V)) expect(logits[i]).toBe(FLOAT32_LOWEST);
        else expect(Number.isFinite(logits[i])).toBe(true);
      }
    },
  );

  test.prop([configArb], { ...SEED, numRuns: 10 })('the sparse pattern is not dense: restricting it changes the logits', (o) => {
    // Negative control for the property above: blocks of one token, one local block and a stride of 64 leave
    // most keys of a 12-token sequence out of a sparse layer's view, so it must differ from dense attention.
    const n = 12;
    const tokens = randomTokens(n, o.seed + 3);
    const base = { ...rawConfig(o), blocksparse_block_size: 1, blocksparse_num_local_blocks: 1, blocksparse_vert_stride: 64, dense_attention_every_n_layers: 0 };
    const sparse = randomModel(base, o.seed);
    const dense = randomModel({ ...base, dense_attention_every_n_layers: 1 }, o.seed);
    const a = sparse.forward(tokens, sparse.createCache(n), { allLogits: true });
    const b = dense.forward(tokens, dense.createCache(n), { allLogits: true });
    expect(maxDiff(a.subarray(V), b.subarray(V))).toBeGreaterThan(1e-6); // position 0 sees only itself in both
    expect(maxDiff(a.subarray(0, V), b.subarray(0, V))).toBeLessThan(1e-5);
  });
});
