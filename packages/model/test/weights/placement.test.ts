// Placing weights for the wasm kernels straight from the file (getStoredMatrix → WasmWeightArena.placeStored):
// the placed matrices are the bytes the array path (getMatrix → place) gives, and the sources and
// wrappers offer exactly the matrices that need no conversion.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WeightMatrix } from '@phi3/tensor';
import { convertToGguf } from '../../src/weights/gguf-convert.ts';
import { openGgufCheckpoint } from '../../src/weights/gguf-model.ts';
import { readGgufMetadata } from '../../src/weights/gguf.ts';
import type { GgufOutType } from '../../src/weights/gguf-export.ts';
import { placeWeights } from '../../src/weights/kernels.ts';
import { quantizeWeights } from '../../src/weights/quantize.ts';
import { openSafetensorsFolder, reportReads, type WeightSource } from '../../src/weights/source.ts';
import { WeightsFormatError } from '../../src/errors.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const MINI = join(ROOT, 'fixtures/phi3-mini-tiny');
const BF16 = join(ROOT, 'fixtures/phi3-bf16-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'phi3-placement-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `source` with its getStoredMatrix hidden: placement falls back to getMatrix (the array path). */
function withoutStored(source: WeightSource): WeightSource {
  return { ...source, names: () => source.names(), has: (n) => source.has(n), info: (n) => source.info(n), getF32: (n) => source.getF32(n), getMatrix: (n) => source.getMatrix(n), getStoredMatrix: undefined, close: () => source.close() };
}

/** Every 2-D weight of `source` placed for the wasm kernels. */
function placedMatrices(source: WeightSource): Map<string, WeightMatrix> {
  const placed = placeWeights(source, 'wasm');
  const out = new Map<string, WeightMatrix>();
  for (const name of source.names()) if (source.info(name).shape.length === 2) out.set(name, placed.getMatrix(name));
  return out;
}

const bytesOf = (w: WeightMatrix): Uint8Array => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength).slice();

describe('weights read straight into wasm memory', () => {
  it.each(['f32', 'f16', 'q8_0', 'q4_0'] as const)('%s GGUF: the same placed matrices as through getMatrix, which is never called', (outType: GgufOutType) => {
    const path = join(tmp, `mini-${outType}.gguf`);
    convertToGguf(MINI, path, { outType });
    const direct = openGgufCheckpoint(path).weights;
    let arrayReads = 0;
    const counted: WeightSource = { ...withoutStored(direct), getMatrix: (n) => (arrayReads++, direct.getMatrix(n)), getStoredMatrix: (n) => direct.getStoredMatrix!(n) };
    const streamed = placedMatrices(counted);
    expect(arrayReads).toBe(0);
    const copied = placedMatrices(withoutStored(openGgufCheckpoint(path).weights));
    expect([...streamed.keys()]).toEqual([...copied.keys()]);
    for (const [name, w] of streamed) {
      const c = copied.get(name)!;
      expect({ name, format: w.format, rows: w.rows, cols: w.cols, layout: 'layout' in w ? w.layout : undefined })
        .toEqual({ name, format: c.format, rows: c.rows, cols: c.cols, layout: 'layout' in c ? c.layout : undefined });
      expect(w.data.constructor).toBe(c.data.constructor);
      expect(bytesOf(w)).toEqual(bytesOf(c));
    }
  });

  it('names the tensor when the arena refuses it (an Inf scale in a Q8_0 file)', () => {
    const path = join(tmp, 'mini-q8-inf.gguf');
    convertToGguf(MINI, path, { outType: 'q8_0' });
    const t = readGgufMetadata(path).tensors.find((x) => x.name === 'blk.0.ffn_down.weight')!;
    const bytes = readFileSync(path);
    bytes[t.offset + 34 * 5 + 1] = 0x7c; // row 1, block 1: f16 +Inf
    writeFileSync(path, bytes);
    const placed = placeWeights(openGgufCheckpoint(path).weights, 'wasm');
    expect(() => placed.getMatrix('model.layers.0.mlp.down_proj.weight'))
      .toThrow(/mini-q8-inf\.gguf: tensor "model\.layers\.0\.mlp\.down_proj\.weight": q8_0 \[64, 128\]: row 1 block 1 has an Inf\/NaN scale/);
    placed.close();
  });

  it('GGUF getStoredMatrix: refuses 1-D tensors and reads outside the tensor', () => {
    const path = join(tmp, 'mini-q8.gguf');
    convertToGguf(MINI, path, { outType: 'q8_0' });
    const source = openGgufCheckpoint(path).weights;
    expect(() => source.getStoredMatrix!('model.norm.weight')).toThrow(/not 2-D/);
    const stored = source.getStoredMatrix!('model.layers.0.mlp.down_proj.weight')!;
    expect(stored.format).toBe('q8_0');
    expect(() => stored.readBytes(new Uint8Array(8), -1)).toThrow(WeightsFormatError);
    const whole = source.getMatrix('model.layers.0.mlp.down_proj.weight').data as Uint8Array;
    expect(() => stored.readBytes(new Uint8Array(8), whole.length - 4)).toThrow(/outside tensor/);
    const tail = new Uint8Array(8);
    stored.readBytes(tail, whole.length - 8);
    expect(tail).toEqual(whole.subarray(whole.length - 8));
    source.close();
  });

  it('safetensors: F32 matrices as stored, BF16 only when kept in half precision', () => {
    const f32 = openSafetensorsFolder(MINI);
    expect(f32.getStoredMatrix('model.layers.0.mlp.down_proj.weight')?.format).toBe('f32');
    const streamed = placedMatrices(f32);
    const copied = placedMatrices(withoutStored(openSafetensorsFolder(MINI)));
    for (const [name, w] of streamed) expect(w.data).toEqual(copied.get(name)!.data);
    expect(openSafetensorsFolder(BF16).getStoredMatrix('model.layers.0.mlp.down_proj.weight')).toBeUndefined(); // widened to f32
    const half = openSafetensorsFolder(BF16, { keepHalfPrecision: true });
    const stored = half.getStoredMatrix('model.layers.0.mlp.down_proj.weight')!;
    expect(stored.format).toBe('bf16');
    const bytes = new Uint8Array(16);
    stored.readBytes(bytes, 0);
    expect(bytes).toEqual((half.getMatrix('model.layers.0.mlp.down_proj.weight').data as Uint8Array).subarray(0, 16));
    expect(() => stored.readBytes(new Uint8Array(16), 1 << 30)).toThrow(/outside tensor/);
  });

  it('wrappers: quantizeWeights offers only matrices it would not quantize; reportReads counts stored reads', () => {
    const path = join(tmp, 'mini-q4.gguf');
    convertToGguf(MINI, path, { outType: 'q4_0' });
    expect(quantizeWeights(openGgufCheckpoint(path).weights, 'q8_0').getStoredMatrix!('model.layers.0.mlp.down_proj.weight')?.format).toBe('q4_0');
    expect(quantizeWeights(openSafetensorsFolder(MINI), 'q8_0').getStoredMatrix!('model.layers.0.mlp.down_proj.weight')).toBeUndefined();
    const ticks: number[] = [];
    const reported = reportReads(openGgufCheckpoint(path).weights, (reads) => ticks.push(reads));
    reported.getStoredMatrix!('model.layers.0.mlp.down_proj.weight');
    expect(ticks).toEqual([1]);
    expect(reportReads(openSafetensorsFolder(BF16), () => ticks.push(-1)).getStoredMatrix!('model.layers.0.mlp.down_proj.weight')).toBeUndefined();
    expect(ticks).toEqual([1]); // nothing read yet: the caller reads through getMatrix, which ticks
  });
});
