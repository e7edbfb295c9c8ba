import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { argmax } from '@phi3/tensor';
import { buildModel, loadModel, type Model } from '../src/model.ts';
import { openSafetensorsFolder } from '../src/weights/source.ts';
import { InferenceSession } from '../src/session.ts';
import { parsePhi3SmallConfig, type Phi3SmallConfig } from '../src/variants/phi3-small-config.ts';
import {
  FLOAT32_LOWEST, isDenseAttentionLayer, phi3SmallRopeParams, splitGroupedQkv,
} from '../src/variants/phi3-small.ts';
import { ConfigReader } from '../src/config.ts';
import { ContextLengthError, WeightsFormatError } from '../src/errors.ts';
import { verifyFixture } from '../src/verify/verify.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../fixtures/${name}`, import.meta.url));
const FIXTURES = ['phi3small-tiny', 'phi3small-homo-tiny', 'phi3small-longrope-tiny'];

function config(name: string, patch: Record<string, unknown> = {}): Phi3SmallConfig {
  const raw = JSON.parse(readFileSync(`${fixture(name)}/config.json`, 'utf8')) as Record<string, unknown>;
  return parsePhi3SmallConfig(new ConfigReader({ ...raw, ...patch }, 'config.json'));
}

describe.each(FIXTURES)('phi3 verify %s', (name) => {
  test('every case within 1e-3 with equal argmax, every greedy entry token-exact, hidden states close', async () => {
    const report = await verifyFixture(fixture(name));
    expect(report.ok).toBe(true);
    for (const c of report.cases) {
      expect(c.maxAbsDiff).toBeLessThan(1e-4); // measured ≈ 2e-6; the fixture tolerance is 1e-3
      expect(c.argmaxAgreement).toBe(1);
    }
    expect(report.generate.length).toBeGreaterThan(0);
    for (const g of report.generate) expect(g.actual).toEqual(g.expected);
    expect(report.hiddenStates?.firstDivergingLayer).toBeNull();
  });
});

describe('phi3small head', () => {
  test('an untied head is read from lm_head.weight (missing here: a WeightsFormatError naming it)', () => {
    const c = config('phi3small-tiny', { tie_word_embeddings: false });
    expect(() => buildModel(c, openSafetensorsFolder(fixture('phi3small-tiny')))).toThrow(WeightsFormatError);
    expect(() => buildModel(c, openSafetensorsFolder(fixture('phi3small-tiny')))).toThrow(/lm_head.weight/);
  });

  test('dummy-token logits are exactly float32 lowest (not -inf), the others finite', () => {
    const model = loadModel(fixture('phi3small-tiny'));
    try {
      const c = model.config as Phi3SmallConfig;
      const V = c.vocabSize;
      const logits = model.forward([417, 5, 99, 300], model.createCache(4), { allLogits: true });
      const dummy = new Set(c.dummyTokenIds);
      for (let t = 0; t < 4; t++) {
        for (let id = 0; id < V; id++) {
          const x = logits[t * V + id];
          if (dummy.has(id)) expect(x).toBe(FLOAT32_LOWEST);
          else expect(Number.isFinite(x) && x > FLOAT32_LOWEST).toBe(true);
        }
      }
      expect(Math.fround(FLOAT32_LOWEST)).toBe(FLOAT32_LOWEST);
    } finally {
      model.close();
    }
  });
});

/** Greedy ids when every step re-runs the whole sequence from an empty cache. */
function fullRecomputeGreedy(model: Model, prompt: readonly number[], n: number): number[] {
  const ids = [...prompt];
  for (let step = 0; step < n; step++) {
    const logits = model.forward(ids, model.createCache(ids.length));
    ids.push(argmax(logits));
  }
  return ids.slice(prompt.length);
}

describe('phi3small decoding', () => {
  test('prefill then single-token decodes equals one full forward (no LongRoPE)', () => {
    const model = loadModel(fixture('phi3small-tiny'));
    try {
      const V = model.config.vocabSize;
      const ids = Array.from({ length: 41 }, (_, i) => (i === 0 ? 417 : (i * 37) % 416)); // 11 blocks of 4
      const full = model.forward(ids, model.createCache(ids.length), { allLogits: true });
      const session = new InferenceSession(model, { maxTokens: ids.length });
      session.feed(ids.slice(0, 9));
      let worst = 0;
      for (let p = 9; p < ids.length; p++) {
        const row = session.feed([ids[p]]);
        for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(row[i] - full[p * V + i]) || 0);
      }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      model.close();
    }
  });

  test('LongRoPE: the session keeps the cache (incremental ids), a full recompute gives the other sequence', () => {
    const dir = fixture('phi3small-longrope-tiny');
    const reference = JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as {
      generate: Array<{ prompt_ids: number[]; max_new_tokens: number; expected_ids: number[]; full_recompute_greedy_ids: number[] }>;
    };
    const g = reference.generate[0];
    expect(g.expected_ids).not.toEqual(g.full_recompute_greedy_ids); // the fixture really separates the policies
    const model = loadModel(dir);
    try {
      expect(model.decoder.rebuildCacheAbove).toBeNull();
      expect(fullRecomputeGreedy(model, g.prompt_ids, g.max_new_tokens)).toEqual(g.full_recompute_greedy_ids);
    } finally {
      model.close();
    }
  });
});

describe('phi3small pieces', () => {
  test('the fused qkv is grouped per kv head as [q × m, k, v]', () => {
    const H = 4, Hkv = 2, Dh = 2, T = 2; // m = 2: per group 4 slots of Dh
    const qkv = Float32Array.from({ length: T * Hkv * 4 * Dh }, (_, i) => i);
    const { q, k, v } = splitGroupedQkv(qkv, T, { nHeads: H, nKvHeads: Hkv, headDim: Dh });
    // token 0: group 0 = [0..7] → q0 [0,1], q1 [2,3], k0 [4,5], v0 [6,7]; group 1 = [8..15]
    expect(Array.from(q.subarray(0, 8))).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(Array.from(k.subarray(0, 4))).toEqual([4, 5, 12, 13]);
    expect(Array.from(v.subarray(0, 4))).toEqual([6, 7, 14, 15]);
    expect(Array.from(q.subarray(8, 10))).toEqual([16, 17]); // token 1, head 0
  });

  test('dense layers are those with (l + 1) % n == 0; none when n is 0', () => {
    const c = config('phi3small-longrope-tiny');
    expect([0, 1, 2, 3, 4, 5].filter((l) => isDenseAttentionLayer(c, l))).toEqual([1, 3, 5]);
    const three = config('phi3small-longrope-tiny', { dense_attention_every_n_layers: 3 });
    expect([0, 1, 2, 3, 4, 5].filter((l) => isDenseAttentionLayer(three, l))).toEqual([2, 5]);
    const none = config('phi3small-longrope-tiny', { dense_attention_every_n_layers: null });
    expect([0, 1, 2, 3, 4, 5].some((l) => isDenseAttentionLayer(none, l))).toBe(false);
  });

  test('LongRoPE switches strictly past original_max, with each table\'s own mscale', () => {
    const params = phi3SmallRopeParams(config('phi3small-longrope-tiny'));
    expect(params(32).scale).toBe(1); // short_mscale
    expect(params(33).scale).toBe(1.1875); // long_mscale
    expect(params(32).invFreq[7]).toBeCloseTo(1 / (3 * 1e6 ** (14 / 16)), 12); // short_factor[7] = 3
    expect(params(33).invFreq[7]).toBeCloseTo(1 / (24 * 1e6 ** (14 / 16)), 12); // long_factor[7] = 24
    expect(params(255).scale).toBe(1.1875);
    expect(() => params(256)).toThrow(ContextLengthError); // HF asserts T < max_position_embeddings
  });

  test('plain RoPE folds rope_position_scale into the frequencies', () => {
    const plain = phi3SmallRopeParams(config('phi3small-tiny'));
    const scaled = phi3SmallRopeParams(config('phi3small-tiny', { rope_position_scale: 0.5 }));
    expect(plain(1000).scale).toBe(1);
    expect(scaled(7).invFreq[3]).toBeCloseTo(plain(7).invFreq[3] * 0.5, 10);
  });
});
