// `phi3 convert` as a library call: tokenizer.json → tokenizer.ggml.* (same ids as tokenizer.json,
// same pieces as llama.cpp's own phi-3 vocab file) and a whole model folder → a GGUF that loads
// (model and tokenizer) through the user-facing loaders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ggufTokenizerMetadata } from '../../src/weights/gguf-vocab.ts';
import { convertToGguf } from '../../src/weights/gguf-convert.ts';
import { encodeGguf, kv } from '../../src/weights/gguf-writer.ts';
import { readGgufMetadata } from '../../src/weights/gguf.ts';
import { loadModel, readModelConfig } from '../../src/model.ts';
import { openGgufCheckpoint } from '../../src/weights/gguf-model.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import { UnsupportedModelError, WeightsFormatError } from '../../src/errors.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const PHI3_TOKENIZER = join(ROOT, 'fixtures/tokenizers/phi3');
const LLAMACPP_VOCAB = join(PHI3_TOKENIZER, 'llamacpp/ggml-vocab-phi-3.gguf');
const SHAKESPEARE = join(ROOT, 'fixtures/phi3-shakespeare-tiny');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'phi3-convert-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('tokenizer.json → GGUF vocabulary', () => {
  let path: string;
  beforeAll(() => {
    const meta = ggufTokenizerMetadata(PHI3_TOKENIZER, 32064)!;
    meta.set('general.architecture', kv.str('phi3'));
    path = join(tmp, 'vocab.gguf');
    writeFileSync(path, encodeGguf(meta, []));
  });

  it('has llama.cpp\'s pieces, and its token types except for the [PAD] filler', () => {
    const mine = readGgufMetadata(path).metadata;
    const theirs = readGgufMetadata(LLAMACPP_VOCAB).metadata;
    expect(mine.get('tokenizer.ggml.tokens')).toEqual(theirs.get('tokenizer.ggml.tokens'));
    const types = mine.get('tokenizer.ggml.token_type') as Int32Array;
    const theirTypes = theirs.get('tokenizer.ggml.token_type') as Int32Array;
    // llama.cpp's 2024 file marks the 53 [PAD] rows UNKNOWN (2); today's converter writes UNUSED (5).
    for (let id = 0; id < 32064; id++) expect([id, types[id]]).toEqual([id, id >= 32011 ? 5 : theirTypes[id]]);
    for (const key of ['bos_token_id', 'eos_token_id', 'unknown_token_id', 'padding_token_id']) {
      expect(mine.get(`tokenizer.ggml.${key}`)).toBe(theirs.get(`tokenizer.ggml.${key}`));
    }
    // The chat template and add_bos come from tokenizer_config.json (Phi-3.5-mini's: no BOS by default).
    const config = JSON.parse(readFileSync(join(PHI3_TOKENIZER, 'tokenizer_config.json'), 'utf8'));
    expect(mine.get('tokenizer.chat_template')).toBe(config.chat_template);
    expect(mine.get('tokenizer.ggml.add_bos_token')).toBe(config.add_bos_token);
  });

  it('tokenizes all 242 reference strings like tokenizer.json', () => {
    const tok = loadTokenizer(path);
    const cases = JSON.parse(readFileSync(join(PHI3_TOKENIZER, 'cases.json'), 'utf8')).cases as Array<{ text: string; ids: number[] }>;
    expect(cases).toHaveLength(242);
    const mismatches = cases.filter((c) => JSON.stringify(tok.encode(c.text, { addBos: false })) !== JSON.stringify(c.ids));
    expect(mismatches.map((c) => c.text)).toEqual([]);
  });

  it('is absent for a folder without tokenizer.json', () => {
    expect(ggufTokenizerMetadata(join(ROOT, 'fixtures/phi3-mini-tiny'), 512)).toBeNull();
  });
});

describe('convertToGguf', () => {
  it('writes a phi3 GGUF that loadModel and loadTokenizer open, with the folder\'s logits and ids', () => {
    const out = join(tmp, 'shakespeare-q8_0.gguf');
    const progress: string[] = [];
    const result = convertToGguf(SHAKESPEARE, out, { outType: 'q8_0', onTensor: (i, n, name) => progress.push(`${i + 1}/${n} ${name}`) });
    expect(result).toEqual({ tensors: 2 + 6 * 6, tokenizer: true }); // tied head: no output.weight
    expect(progress[0]).toBe('1/38 token_embd.weight');

    const meta = readGgufMetadata(out);
    expect(meta.metadata.get('general.file_type')).toBe(7);
    expect(meta.tensors.find((t) => t.name === 'blk.0.attn_qkv.weight')?.typeName).toBe('Q8_0');
    expect(meta.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.typeName).toBe('F32');

    const text = 'ROMEO: But soft, what light';
    const fromGguf = loadTokenizer(out);
    const fromFolder = loadTokenizer(SHAKESPEARE);
    expect(fromGguf.encode(text)).toEqual(fromFolder.encode(text));
    const model = loadModel(out);
    const ids = fromGguf.encode(text);
    const logits = model.forward(ids, model.createCache(ids.length));
    const reference = loadModel(SHAKESPEARE);
    const expected = reference.forward(ids, reference.createCache(ids.length));
    const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
    expect(argmax(logits)).toBe(argmax(expected));
    model.close();
    reference.close();
  });

  it('writes Phi-3.5-MoE as llama.cpp does: stacked experts, F32 router, biases, expert counts', () => {
    const out = join(tmp, 'phimoe-q8_0.gguf');
    convertToGguf(join(ROOT, 'fixtures/phimoe-tiny'), out, { outType: 'q8_0' });
    const { metadata, tensors } = readGgufMetadata(out);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    expect(metadata.get('general.architecture')).toBe('phimoe');
    expect([metadata.get('phimoe.expert_count'), metadata.get('phimoe.expert_used_count')]).toEqual([4, 2]);
    expect(byName.get('blk.1.ffn_gate_exps.weight')).toMatchObject({ shape: [4, 96, 64], ne: [64, 96, 4], typeName: 'Q8_0' });
    expect(byName.get('blk.1.ffn_down_exps.weight')).toMatchObject({ shape: [4, 64, 96], typeName: 'Q8_0' });
    expect(byName.get('blk.1.ffn_gate_inp.weight')).toMatchObject({ shape: [4, 64], typeName: 'F32' });
    expect(byName.get('blk.0.attn_q.bias')?.typeName).toBe('F32');
    expect(byName.has('output.bias') && byName.has('output_norm.bias') && byName.has('rope_factors_long.weight')).toBe(true);
  });

  it.each([
    ['phi3-mini-tiny', { sliding_window: null, rope_theta: 250000, rms_norm_eps: 1e-6, pad_token_id: null, bos_token_id: 3 }],
    ['phimoe-tiny', { rope_scaling_original_max: 40, router_jitter_noise: 0.05, rms_norm_eps: 3e-6, sliding_window: null }],
  ] as const)('round-trips config variations of %s exactly', (name, changes) => {
    // A copy of the fixture folder with edited config.json (the weights are linked, not copied).
    const dir = join(tmp, `${name}-variant`);
    mkdirSync(dir);
    symlinkSync(join(ROOT, 'fixtures', name, 'model.safetensors'), join(dir, 'model.safetensors'));
    const raw = JSON.parse(readFileSync(join(ROOT, 'fixtures', name, 'config.json'), 'utf8'));
    const { rope_scaling_original_max: ropeMax, ...rest } = changes as Record<string, unknown>;
    Object.assign(raw, rest);
    if (ropeMax !== undefined) raw.rope_scaling.original_max_position_embeddings = ropeMax;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
    const out = join(tmp, `${name}-variant.gguf`);
    convertToGguf(dir, out, { outType: 'f32' });
    expect(openGgufCheckpoint(out).config).toEqual(readModelConfig(dir).config);
  });

  it('an output path it cannot create is a typed error naming it (the CLI printed "internal error: ENOENT")', () => {
    const out = join(tmp, 'no-such-dir', 'x.gguf');
    expect(() => convertToGguf(SHAKESPEARE, out, { outType: 'f32' })).toThrow(WeightsFormatError);
    expect(() => convertToGguf(SHAKESPEARE, out, { outType: 'f32' })).toThrow(`cannot create ${out}: ENOENT`);
  });

  it('rejects variants other than phi3 and phimoe with a typed error', () => {
    expect(() => convertToGguf(join(ROOT, 'fixtures/phi3small-tiny'), join(tmp, 'x.gguf'), { outType: 'f16' })).toThrow(UnsupportedModelError);
  });
});
