// PhimoeConfig parsing: v4.47.1 defaults, LongRoPE with mscales, and typed errors naming the field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigReader } from '../src/index.ts';
import { parsePhimoeConfig } from '../src/variants/phimoe-config.ts';
import { phimoeRopeParams } from '../src/variants/phimoe.ts';

const FIXTURE_CONFIG = join(import.meta.dirname, '../../../fixtures/phimoe-tiny/config.json');
const fixtureRaw = (): Record<string, any> => JSON.parse(readFileSync(FIXTURE_CONFIG, 'utf8'));
const parse = (raw: Record<string, unknown>) => parsePhimoeConfig(new ConfigReader(raw, 'config.json'));

describe('parsePhimoeConfig', () => {
  it('reads the fixture config', () => {
    const c = parse(fixtureRaw());
    expect(c.kind).toBe('phimoe');
    expect([c.hiddenSize, c.nHeads, c.nKvHeads, c.headDim, c.intermediateSize, c.nExperts]).toEqual([64, 4, 2, 16, 96, 4]);
    expect(c.nExpertsPerToken).toBe(2);
    expect(c.routerJitterNoise).toBe(0.01);
    expect(c.originalMaxPositionEmbeddings).toBe(32);
    expect(c.layerNormEps).toBe(1e-5);
    expect(c.attentionBias).toBe(true);
    expect(c.lmHeadBias).toBe(true);
    expect(c.slidingWindow).toBe(512);
    expect(c.ropeScaling?.shortMscale).toBe(1.1);
    expect(c.ropeScaling?.longMscale).toBe(1.243163121016122);
    expect(c.ropeScaling?.longFactor.length).toBe(8);
  });

  it('applies PhimoeConfig defaults: rope_theta 1e6, 8 kv heads, bos 1 / eos 2, no biases, 16 experts', () => {
    const raw = fixtureRaw();
    for (const k of ['bos_token_id', 'eos_token_id', 'rope_theta', 'num_key_value_heads', 'attention_bias', 'lm_head_bias', 'num_local_experts', 'rope_scaling', 'original_max_position_embeddings']) delete raw[k];
    raw.num_attention_heads = 8; // head dim 8, divisible by the default 8 kv heads
    const c = parse(raw);
    expect(c.ropeTheta).toBe(1e6);
    expect(c.nKvHeads).toBe(8);
    expect([c.bosTokenId, c.eosTokenIds]).toEqual([1, [2]]);
    expect(c.attentionBias).toBe(false);
    expect(c.lmHeadBias).toBe(false);
    expect(c.nExperts).toBe(16);
    expect(c.ropeScaling).toBeNull();
    expect(c.originalMaxPositionEmbeddings).toBe(c.maxPositionEmbeddings);
  });

  it('takes original_max_position_embeddings from rope_scaling when the top-level key is absent', () => {
    const raw = fixtureRaw();
    delete raw.original_max_position_embeddings;
    raw.rope_scaling.original_max_position_embeddings = 24;
    const c = parse(raw);
    expect(c.originalMaxPositionEmbeddings).toBe(24);
    expect(c.ropeScaling?.originalMaxPositionEmbeddings).toBe(24);
  });

  it('accepts rope_type (newer saves) in place of type, and prefers it as v4.47.1 does', () => {
    const raw = fixtureRaw();
    raw.rope_scaling.rope_type = 'longrope';
    delete raw.rope_scaling.type;
    expect(parse(raw).ropeScaling?.longMscale).toBe(1.243163121016122);
    raw.rope_scaling.type = 'su';
    expect(parse(raw).ropeScaling).not.toBeNull();
    raw.rope_scaling.rope_type = 'yarn';
    expect(() => parse(raw)).toThrow(/"yarn" is not supported/);
  });

  const broken: Array<[string, (raw: Record<string, any>) => void, RegExp]> = [
    ['top-3 routing', (r) => (r.num_experts_per_tok = 3), /num_experts_per_tok is 3/],
    ['a single expert', (r) => (r.num_local_experts = 1), /num_local_experts must be an integer >= 2/],
    ['another activation', (r) => (r.hidden_act = 'gelu'), /hidden_act "gelu" is not supported/],
    ['a tied head', (r) => (r.tie_word_embeddings = true), /tie_word_embeddings is true/],
    ['a missing mscale', (r) => delete r.rope_scaling.long_mscale, /rope_scaling\.long_mscale is missing/],
    ['an unknown rope key', (r) => (r.rope_scaling.factor = 2), /rope_scaling\.factor is not a known LongRoPE key/],
    ['the older "su" name', (r) => (r.rope_scaling.type = 'su'), /rope_scaling\.type "su" is not supported/],
    ['short factors of the wrong length', (r) => r.rope_scaling.short_factor.pop(), /rope_scaling\.short_factor has 7 entries, expected 8/],
    ['a negative jitter', (r) => (r.router_jitter_noise = -0.1), /router_jitter_noise must be >= 0/],
    ['heads that do not divide hidden', (r) => (r.num_attention_heads = 5), /num_attention_heads/],
  ];
  it.each(broken)('rejects %s with a ConfigError naming the field', (_, edit, message) => {
    const raw = fixtureRaw();
    edit(raw);
    expect(() => parse(raw)).toThrow(ConfigError);
    expect(() => parse(raw)).toThrow(message);
  });
});

describe('phimoeRopeParams (v4.47.1 PhimoeRotaryEmbedding)', () => {
  const c = parse(fixtureRaw()); // original_max 32, max 512, mscales 1.1 / 1.2431…
  const params = phimoeRopeParams(c);
  const short = params(1).invFreq;
  const long = params(500).invFreq;

  it('uses short factors and short mscale below original_max', () => {
    for (const T of [1, 20, 31]) expect(params(T)).toEqual({ invFreq: short, scale: 1.1 });
  });
  it('uses long factors but still the short mscale at exactly original_max', () => {
    expect(params(32)).toEqual({ invFreq: long, scale: 1.1 });
  });
  it('uses long factors and long mscale past original_max', () => {
    for (const T of [33, 48, 512]) expect(params(T)).toEqual({ invFreq: long, scale: 1.243163121016122 });
  });
  it('long factors divide the frequencies by long_factor', () => {
    const ratio = Array.from(short, (s, j) => s / long[j]);
    const expected = Array.from(c.ropeScaling!.longFactor, (l, j) => l / c.ropeScaling!.shortFactor[j]);
    ratio.forEach((r, j) => expect(r).toBeCloseTo(expected[j], 5));
  });
  it('never uses long factors when the context is not longer than original_max', () => {
    const raw = fixtureRaw();
    raw.max_position_embeddings = 32;
    const p = phimoeRopeParams(parse(raw));
    expect(p(32).invFreq).toEqual(short);
    expect(p(32).scale).toBe(1.1);
  });
  it('is plain RoPE (scale 1) without rope_scaling', () => {
    const raw = fixtureRaw();
    raw.rope_scaling = null;
    const p = phimoeRopeParams(parse(raw));
    expect(p(100).scale).toBe(1);
    expect(p(100).invFreq[1]).toBeCloseTo(1 / Math.pow(10000, 2 / 16), 6);
  });
});
