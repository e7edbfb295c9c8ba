import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigReader } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { cl100kDummyTokenIds, parsePhi3SmallConfig } from '../src/variants/phi3-small-config.ts';

const FIXTURES = new URL('../../../fixtures/', import.meta.url);

function rawConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${name}/config.json`, FIXTURES), 'utf8')) as Record<string, unknown>;
}

function parse(raw: Record<string, unknown>) {
  return parsePhi3SmallConfig(new ConfigReader(raw, 'config.json'));
}

describe('parsePhi3SmallConfig', () => {
  test('reads the tiny fixture (hetero blocksparse, muP, no rope_scaling)', () => {
    const c = parse(rawConfig('phi3small-tiny'));
    expect(c).toMatchObject({
      kind: 'phi3small', hiddenSize: 128, nHeads: 8, nKvHeads: 2, headDim: 16, nLayers: 4, intermediateSize: 256,
      vocabSize: 512, gegeluLimit: 6, denseAttentionEveryNLayers: 2, mupEmbeddingMultiplier: 10,
      mupAttnMultiplier: 1, mupWidthMultiplier: 8, mupUseScaling: true, ropeBase: 1e6, ropeScaling: null,
      bosTokenId: 417, eosTokenIds: [417], layerNormEps: 1e-5, tieWordEmbeddings: true,
      blocksparse: { blockSize: 4, numLocalBlocks: 2, vertStride: 2, nHeads: 8, homoHeadPattern: false },
    });
    expect(c.dummyTokenIds).toHaveLength(91);
    expect(c.dummyTokenIds).not.toContain(417);
  });

  test('reads the homo flag and the LongRoPE block with both mscales', () => {
    expect(parse(rawConfig('phi3small-homo-tiny')).blocksparse.homoHeadPattern).toBe(true);
    const lr = parse(rawConfig('phi3small-longrope-tiny')).ropeScaling;
    expect(lr?.originalMaxPositionEmbeddings).toBe(32);
    expect(lr?.shortMscale).toBe(1);
    expect(lr?.longMscale).toBe(1.1875);
    expect(Array.from(lr?.longFactor ?? [])).toEqual([1, 1.25, 2, 3.5, 6, 10, 16, 24]);
  });

  test('falls back to the Phi-3 mscale formula and to the cl100k dummy list', () => {
    const raw = rawConfig('phi3small-longrope-tiny');
    const scaling = { ...(raw.rope_scaling as object), long_mscale: 0 } as Record<string, unknown>;
    delete scaling.short_mscale;
    const patched: Record<string, unknown> = { ...raw, rope_scaling: scaling, vocab_size: 100352 };
    delete patched.dummy_token_indices;
    const c = parse(patched);
    expect(c.ropeScaling?.shortMscale).toBe(1);
    expect(c.ropeScaling?.longMscale).toBeCloseTo(Math.sqrt(1 + Math.log(256 / 32) / Math.log(32)), 12);
    expect(c.dummyTokenIds).toEqual(cl100kDummyTokenIds());
    expect(cl100kDummyTokenIds()).toHaveLength(91);
    expect(cl100kDummyTokenIds()).not.toContain(100257); // <|endoftext|>
    expect(cl100kDummyTokenIds()).not.toContain(100266); // <|end|>
  });

  test('derives the intermediate size from ff_dim_multiplier (padded to 256)', () => {
    const c = parse({ ...rawConfig('phi3small-tiny'), ff_intermediate_size: null, ff_dim_multiplier: 3 });
    expect(c.intermediateSize).toBe(256); // 3 · (128 // 3) · 2 = 252 → 256
  });

  test.each([
    [{ hidden_act: 'gelu' }, /hidden_act/],
    [{ num_key_value_heads: 3 }, /num_key_value_heads/],
    [{ ff_dim_multiplier: 2 }, /ff_intermediate_size/],
    [{ blocksparse_vert_stride: 0 }, /blocksparse_vert_stride/],
    [{ blocksparse_block_size: 2.5 }, /blocksparse_block_size/],
    [{ dummy_token_indices: [600] }, /dummy_token_indices/],
    [{ rope_scaling: { type: 'yarn', factor: 2 } }, /rope_scaling.type/],
  ])('rejects %j with a ConfigError naming the field', (patch, field) => {
    const call = () => parse({ ...rawConfig('phi3small-tiny'), ...patch });
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(field);
  });

  test('rejects unknown LongRoPE keys and an original max past the context', () => {
    const raw = rawConfig('phi3small-longrope-tiny');
    const scaling = raw.rope_scaling as Record<string, unknown>;
    expect(() => parse({ ...raw, rope_scaling: { ...scaling, factor: 4 } })).toThrow(/rope_scaling.factor/);
    expect(() => parse({ ...raw, rope_scaling: { ...scaling, original_max_position_embeddings: 256 } })).toThrow(/original_max/);
  });

  test('dense_attention_every_n_layers: HF default 2 when absent, none when null', () => {
    const { dense_attention_every_n_layers: _, ...rest } = rawConfig('phi3small-tiny');
    expect(parse(rest).denseAttentionEveryNLayers).toBe(2);
    expect(parse({ ...rest, dense_attention_every_n_layers: null }).denseAttentionEveryNLayers).toBe(0);
  });

  test('Phi3SmallConfig defaults for absent shared fields: 8 kv heads, bos = eos = 100257; explicit values win', () => {
    const { num_key_value_heads: _kv, bos_token_id: _bos, eos_token_id: _eos, ...rest } = rawConfig('phi3small-tiny');
    const c = parse(rest);
    expect([c.nKvHeads, c.bosTokenId, c.eosTokenIds]).toEqual([8, 100257, [100257]]);
    expect(parse({ ...rest, num_key_value_heads: 4, bos_token_id: 5, eos_token_id: [6, 7] })).toMatchObject({ nKvHeads: 4, bosTokenId: 5, eosTokenIds: [6, 7] });
    expect(() => parse({ ...rest, num_key_value_heads: 3 })).toThrow(/num_key_value_heads \(3\) must divide/);
  });
});
