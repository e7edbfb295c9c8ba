// Tiny random Phi-3.5-MoE models in memory: cache == full forward, the LongRoPE generation policy,
// routing taps, and weight errors.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createRng } from '@phi3/tensor';
import { tensorMaker } from './helpers/random-tensors.ts';
import { buildModel, ConfigReader, InferenceSession, InMemorySource, WeightsFormatError, type Model, type TapName, type WeightSource } from '../src/index.ts';
import { routeSparsemixer } from '../src/layers/moe.ts';
import { maxAbsDiff } from '../src/verify/compare.ts';
import { parsePhimoeConfig } from '../src/variants/phimoe-config.ts';

interface Options {
  seed: number;
  /** enables LongRoPE with this original_max_position_embeddings */
  originalMax?: number;
  slidingWindow?: number | null;
  experts?: number;
  /** router_jitter_noise (sparsemixer threshold 2×this) */
  jitter?: number;
}

const V = 48, D = 32, H = 4, HKV = 2, F = 24, L = 2, MAX_POS = 64;

function rawConfig(o: Options): Record<string, unknown> {
  const half = D / H / 2;
  const factors = (hi: number) => Array.from({ length: half }, (_, j) => 1 + ((hi - 1) * j) / half);
  return {
    model_type: 'phimoe', vocab_size: V, hidden_size: D, intermediate_size: F, num_hidden_layers: L,
    num_attention_heads: H, num_key_value_heads: HKV, num_local_experts: o.experts ?? 4, num_experts_per_tok: 2,
    max_position_embeddings: MAX_POS, original_max_position_embeddings: o.originalMax ?? MAX_POS,
    rope_scaling: o.originalMax === undefined ? null : {
      type: 'longrope', short_factor: factors(1.2), long_factor: factors(12), short_mscale: 1.1, long_mscale: 1.3,
      original_max_position_embeddings: o.originalMax,
    },
    sliding_window: o.slidingWindow ?? null, rms_norm_eps: 1e-5, rope_theta: 10000, router_jitter_noise: o.jitter ?? 0.01,
    attention_bias: true, lm_head_bias: true, tie_word_embeddings: false,
  };
}

function randomTensors(raw: Record<string, unknown>, seed: number): Array<[string, number[], Float32Array]> {
  const c = parsePhimoeConfig(new ConfigReader(raw, 'random'));
  const t = tensorMaker(seed);
  const qDim = c.nHeads * c.headDim, kvDim = c.nKvHeads * c.headDim;
  const out = [
    t('model.embed_tokens.weight', [V, D], 1), t('model.norm.weight', [D], 0.1, 1), t('model.norm.bias', [D], 0.1),
    t('lm_head.weight', [V, D], 0.3), t('lm_head.bias', [V], 0.1),
  ];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    for (const norm of ['input_layernorm', 'post_attention_layernorm']) out.push(t(`${p}.${norm}.weight`, [D], 0.1, 1), t(`${p}.${norm}.bias`, [D], 0.1));
    for (const [proj, rows, cols] of [['q', qDim, D], ['k', kvDim, D], ['v', kvDim, D], ['o', D, qDim]] as const) {
      out.push(t(`${p}.self_attn.${proj}_proj.weight`, [rows, cols], 0.3), t(`${p}.self_attn.${proj}_proj.bias`, [rows], 0.1));
    }
    out.push(t(`${p}.block_sparse_moe.gate.weight`, [c.nExperts, D], 0.5));
    for (let e = 0; e < c.nExperts; e++) {
      const x = `${p}.block_sparse_moe.experts.${e}`;
      out.push(t(`${x}.w1.weight`, [F, D], 0.3), t(`${x}.w2.weight`, [D, F], 0.2), t(`${x}.w3.weight`, [F, D], 0.3));
    }
  }
  return out;
}

function modelFrom(raw: Record<string, unknown>, tensors: Array<[string, number[], Float32Array]>): Model {
  return buildModel(parsePhimoeConfig(new ConfigReader(raw, 'random')), new InMemorySource(tensors));
}

function randomModel(o: Options): Model {
  const raw = rawConfig(o);
  return modelFrom(raw, randomTensors(raw, o.seed));
}

function randomTokens(n: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

/** Last-token logits of one full causal forward over `tokens` with a fresh cache. @returns [V] */
function fullForwardLast(model: Model, tokens: number[]): Float32Array {
  return model.forward(tokens, model.createCache(tokens.length));
}

describe('random phimoe model', () => {
  test.prop(
    [fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 20 }), fc.integer({ min: 1, max: 19 }), fc.constantFrom(null, 3, 7), fc.integer({ min: 2, max: 6 }), fc.constantFrom(0, 0.01, 0.3)],
    { seed: 42, numRuns: 12 },
  )('prefill then token-by-token decode equals one full forward (no LongRoPE switch; sliding window; 2–6 experts; jitter)', (seed, n, split, window, experts, jitter) => {
    fc.pre(split < n);
    const model = randomModel({ seed, slidingWindow: window, experts, jitter });
    const tokens = randomTokens(n, seed + 1);
    const full = model.forward(tokens, model.createCache(n), { allLogits: true }); // [n, V]
    const cache = model.createCache(n);
    model.forward(tokens.slice(0, split), cache);
    for (let t = split; t < n; t++) {
      const step = model.forward([tokens[t]], cache);
      expect(maxAbsDiff(step, full.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
    }
  });

  it('session: incremental below original_max, mixed rotations at T = original_max, rebuilt causally after it', () => {
    const originalMax = 12;
    const model = randomModel({ seed: 5, originalMax });
    const tokens = randomTokens(originalMax + 4, 6);
    const session = new InferenceSession(model);
    session.feed(tokens.slice(0, originalMax - 3));
    for (let n = originalMax - 2; n <= tokens.length; n++) {
      const logits = session.feed([tokens[n - 1]]); // total length is now n
      const full = fullForwardLast(model, tokens.slice(0, n));
      const diff = maxAbsDiff(logits, full);
      if (n === originalMax) {
        // cached keys are short-rotated, the new one long-rotated (v4.47.1 uses long factors at T = original_max)
        expect(diff).toBeGreaterThan(1e-3);
      } else {
        // below: everything short; above: the cache was rebuilt with long factors at original_max + 1
        expect(diff).toBeLessThan(1e-4);
      }
    }
    expect(session.cache.length).toBe(tokens.length);
  });

  it('taps report per layer the router logits, experts and weights that sparsemixer derives from them', () => {
    const model = randomModel({ seed: 9, experts: 5 });
    const tokens = randomTokens(7, 10);
    const taps = new Map<string, Float32Array>();
    model.forward(tokens, model.createCache(7), { tap: (name: TapName, l, data) => taps.set(`${name}:${l}`, data.slice()) });
    for (let l = 0; l < L; l++) {
      const logits = taps.get(`router_logits:${l}`)!;
      const experts = taps.get(`router_experts:${l}`)!;
      const weights = taps.get(`router_weights:${l}`)!;
      expect([logits.length, experts.length, weights.length]).toEqual([7 * 5, 7 * 2, 7 * 2]);
      const again = routeSparsemixer(logits, 7, 5, 0.01);
      expect(Array.from(experts)).toEqual(Array.from(again.experts));
      expect(Array.from(weights)).toEqual(Array.from(again.weights));
    }
  });

  it('a decode step multiplies by 6 expert matrices per layer (2 experts × w1, w3, w2), prefill by at most 3·E', () => {
    const raw = rawConfig({ seed: 3, experts: 6 });
    const inner = new InMemorySource(randomTensors(raw, 3));
    const touched = new Set<string>();
    // Every expert matrix records its name when a kernel reads its data.
    const source: WeightSource = Object.assign(Object.create(inner) as WeightSource, {
      getMatrix(name: string) {
        const m = inner.getMatrix(name);
        if (!name.includes('.experts.')) return m;
        return new Proxy(m, { get: (target, key, receiver) => (key === 'data' && touched.add(name), Reflect.get(target, key, receiver)) });
      },
    });
    const model = buildModel(parsePhimoeConfig(new ConfigReader(raw, 'random')), source);
    const cache = model.createCache(12);
    model.forward(randomTokens(11, 4), cache);
    expect(touched.size).toBeGreaterThan(0);
    expect(touched.size).toBeLessThanOrEqual(L * 3 * 6);
    touched.clear();
    model.forward([5], cache);
    expect(touched.size).toBe(L * 6);
    for (let l = 0; l < L; l++) expect([...touched].filter((n) => n.startsWith(`model.layers.${l}.`)).length).toBe(6);
  });

  it('rejects missing or misshapen weights with a WeightsFormatError naming the tensor', () => {
    const raw = rawConfig({ seed: 1 });
    const tensors = randomTensors(raw, 1);
    const without = (name: string) => tensors.filter(([n]) => n !== name);
    expect(() => modelFrom(raw, without('model.layers.1.block_sparse_moe.experts.3.w2.weight'))).toThrow(WeightsFormatError);
    expect(() => modelFrom(raw, without('model.layers.0.self_attn.k_proj.bias'))).toThrow(/k_proj\.bias/);
    expect(() => modelFrom(raw, without('lm_head.bias'))).toThrow(/lm_head\.bias/);
    const reshaped = tensors.map(([n, s, d]): [string, number[], Float32Array] =>
      n === 'model.layers.0.block_sparse_moe.gate.weight' ? [n, [s[1], s[0]], d] : [n, s, d]);
    expect(() => modelFrom(raw, reshaped)).toThrow(/gate\.weight" has shape \[32, 4\], expected \[4, 32\]/);
  });

  it('reads no biases when attention_bias and lm_head_bias are false', () => {
    const raw = { ...rawConfig({ seed: 2 }), attention_bias: false, lm_head_bias: false };
    const tensors = randomTensors(raw, 2).filter(([n]) => !n.endsWith('_proj.bias') && n !== 'lm_head.bias');
    const model = modelFrom(raw, tensors);
    expect(model.forward([1, 2, 3], model.createCache(3)).length).toBe(V);
  });
});
