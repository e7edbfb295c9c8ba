// A GGUF model whose weights use every block format llama.cpp files contain (Q4_K_M-style mixes of
// K-quants with the 32-element formats), built from random valid blocks: it runs through the shared
// decoder with the blocks kept quantized, and its logits equal those of the same model with every
// weight dequantized to dense f32. Plus the WeightSource edge cases (unsupported types, slices).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockFormat, createRng, denseMatrix, dequantizeMatrix, f32ToF16 } from '@phi3/tensor';
import { buildModel } from '../../src/model.ts';
import { WeightsFormatError } from '../../src/errors.ts';
import type { WeightSource } from '../../src/weights/source.ts';
import { openGgufCheckpoint } from '../../src/weights/gguf-model.ts';
import { memoryByteSource } from '../../src/weights/gguf-cursor.ts';
import { parseGgufHeader } from '../../src/weights/gguf.ts';
import { GgufSource } from '../../src/weights/gguf-source.ts';
import { GgmlType } from '../../src/weights/gguf-types.ts';
import { encodeGguf, kv, type GgufTensorToWrite } from '../../src/weights/gguf-writer.ts';

const D = 256; // K-quants need rows that are multiples of 256
const F = 256;
const V = 40;
const H = 4;
const HKV = 2;
const DH = D / H;

/** Byte offsets of the f16 scales inside one block of each format (kept small so activations stay tame). */
const SCALES: Record<number, { name: string; fields: number[] }> = {
  [GgmlType.Q4_1]: { name: 'q4_1', fields: [0, 2] },
  [GgmlType.Q5_0]: { name: 'q5_0', fields: [0] },
  [GgmlType.Q5_1]: { name: 'q5_1', fields: [0, 2] },
  [GgmlType.Q4_K]: { name: 'q4_k', fields: [0, 2] },
  [GgmlType.Q5_K]: { name: 'q5_k', fields: [0, 2] },
  [GgmlType.Q6_K]: { name: 'q6_k', fields: [208] },
  [GgmlType.F16]: { name: 'f16', fields: [] },
  [GgmlType.BF16]: { name: 'bf16', fields: [] },
};

/** Random but valid blocks for a [rows, cols] tensor of `type` (scales ≈ 2⁻⁸ · U(−1, 1)). */
function randomTensor(name: string, rows: number, cols: number, type: number, seed: number): GgufTensorToWrite {
  const { name: format, fields } = SCALES[type];
  const f = blockFormat(format);
  const rng = createRng(seed);
  const bytes = new Uint8Array((rows * cols / f.blockSize) * f.blockBytes).map(() => Math.floor(rng.next() * 256));
  if (format === 'f16' || format === 'bf16') {
    // Every element is a half float: write small values (bf16 of x is the top half of its f32 bits).
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < rows * cols; i++) {
      const x = (rng.next() - 0.5) * 0.1;
      view.setUint16(2 * i, format === 'f16' ? f32ToF16(x) : new Uint32Array(new Float32Array([x]).buffer)[0] >>> 16, true);
    }
  } else {
    for (let o = 0; o < bytes.length; o += f.blockBytes) {
      for (const at of fields) new DataView(bytes.buffer).setUint16(o + at, f32ToF16((rng.next() - 0.5) * 2 ** -7), true);
    }
  }
  return { name, ne: [cols, rows], type, data: () => bytes };
}

function f32Tensor(name: string, values: Float32Array): GgufTensorToWrite {
  return { name, ne: [values.length], type: GgmlType.F32, data: () => new Uint8Array(values.buffer) };
}

/** A one-layer phi3 GGUF mixing every supported block format, as llama.cpp's Q4_K_M/Q5_K_M files do. */
function mixedModelFile(): Uint8Array {
  const meta = new Map([
    ['general.architecture', kv.str('phi3')],
    ['phi3.context_length', kv.u32(64)],
    ['phi3.embedding_length', kv.u32(D)],
    ['phi3.feed_forward_length', kv.u32(F)],
    ['phi3.block_count', kv.u32(1)],
    ['phi3.attention.head_count', kv.u32(H)],
    ['phi3.attention.head_count_kv', kv.u32(HKV)],
    ['phi3.attention.layer_norm_rms_epsilon', kv.f32(1e-5)],
    ['phi3.rope.dimension_count', kv.u32(DH)],
    ['phi3.rope.freq_base', kv.f32(10000)],
  ]);
  const ones = (n: number) => new Float32Array(n).fill(1);
  return encodeGguf(meta, [
    randomTensor('token_embd.weight', V, D, GgmlType.Q4_1, 1),
    f32Tensor('blk.0.attn_norm.weight', ones(D)),
    randomTensor('blk.0.attn_qkv.weight', (H + 2 * HKV) * DH, D, GgmlType.Q4_K, 2),
    randomTensor('blk.0.attn_output.weight', D, H * DH, GgmlType.Q5_K, 3),
    f32Tensor('blk.0.ffn_norm.weight', ones(D)),
    randomTensor('blk.0.ffn_up.weight', 2 * F, D, GgmlType.Q5_0, 4),
    randomTensor('blk.0.ffn_down.weight', D, F, GgmlType.Q6_K, 5),
    f32Tensor('output_norm.weight', ones(D)),
    randomTensor('output.weight', V, D, GgmlType.Q5_1, 6),
  ]);
}

/** The same weights with every matrix expanded to dense f32. */
function dequantized(source: WeightSource): WeightSource {
  return {
    description: source.description,
    names: () => source.names(),
    has: (n) => source.has(n),
    info: (n) => source.info(n),
    getF32: (n) => source.getF32(n),
    getMatrix: (n) => {
      const m = source.getMatrix(n);
      return denseMatrix(dequantizeMatrix(m), m.rows, m.cols);
    },
    close: () => source.close(),
  };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'phi3-gguf-mixed-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a GGUF mixing Q4_1, Q4_K, Q5_K, Q5_0, Q6_K and Q5_1 weights', () => {
  it('keeps every matrix in its block format and matches the dequantized model', () => {
    const path = join(tmp, 'mixed.gguf');
    writeFileSync(path, mixedModelFile());
    const quantized = openGgufCheckpoint(path);
    expect(['model.embed_tokens.weight', 'model.layers.0.self_attn.qkv_proj.weight', 'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.mlp.gate_up_proj.weight', 'model.layers.0.mlp.down_proj.weight', 'lm_head.weight']
      .map((n) => quantized.weights.getMatrix(n).format)).toEqual(['q4_1', 'q4_k', 'q5_k', 'q5_0', 'q6_k', 'q5_1']);
    const dense = openGgufCheckpoint(path);
    const a = buildModel(quantized.config, quantized.weights);
    const b = buildModel(dense.config, dequantized(dense.weights));
    const ids = [3, 17, 0, 39, 8, 8, 21];
    const x = a.forward(ids, a.createCache(ids.length), { allLogits: true });
    const y = b.forward(ids, b.createCache(ids.length), { allLogits: true });
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    expect(Number.isFinite(scale) && scale > 0).toBe(true);
    expect(diff).toBeLessThanOrEqual(1e-5 * scale); // only summation order differs
    a.close();
    b.close();
  });
});

describe('GgufSource edge cases', () => {
  const file = encodeGguf(new Map(), [
    { name: 'blk.0.ffn_gate_exps.weight', ne: [32, 2, 3], type: GgmlType.Q8_0, data: () => new Uint8Array(3 * 2 * 34).map((_, i) => i) },
    { name: 'blk.0.attn_q.weight', ne: [256, 1], type: 16 /* IQ2_XXS */, data: () => new Uint8Array(66) },
    f32Tensor('output_norm.weight', new Float32Array([1, 2])),
  ]);
  const header = parseGgufHeader(file);
  const shard = { path: 'mem.gguf', file: memoryByteSource(file), header };
  const source = new GgufSource('mem.gguf', [shard], [
    { hf: 'expert1', gguf: 'blk.0.ffn_gate_exps.weight', expert: 1 },
    { hf: 'iq', gguf: 'blk.0.attn_q.weight' },
    { hf: 'norm', gguf: 'output_norm.weight' },
  ]);

  it('slices one expert out of a stacked [E, rows, cols] tensor', () => {
    expect(source.info('expert1').shape).toEqual([2, 32]);
    expect(source.getMatrix('expert1').data).toEqual(Uint8Array.from({ length: 68 }, (_, i) => 68 + i));
  });

  it('names the tensor and type it cannot decode; rejects 1-D matrices and unknown names', () => {
    expect(() => source.getMatrix('iq')).toThrow(WeightsFormatError);
    expect(() => source.getF32('iq')).toThrow(/"blk.0.attn_q.weight" has type IQ2_XXS/);
    expect(source.getF32('norm')).toEqual(new Float32Array([1, 2]));
    expect(() => source.getMatrix('norm')).toThrow(/not 2-D/);
    expect(() => source.info('nope')).toThrow(/missing tensor "nope"/);
  });

  it('rejects an expert index past the stack', () => {
    expect(() => new GgufSource('mem.gguf', [shard], [{ hf: 'x', gguf: 'blk.0.ffn_gate_exps.weight', expert: 3 }]))
      .toThrow(WeightsFormatError);
  });
});
