import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readGgufMetadata, parseGgufHeader, ggufInt, ggufString } from '../../src/weights/gguf.ts';
import { encodeGguf, kv, type GgufTypedValue } from '../../src/weights/gguf-writer.ts';
import { GgmlType, GgufValueType } from '../../src/weights/gguf-types.ts';
import { WeightsFormatError, ConfigError } from '../../src/errors.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const VOCAB_GGUF = join(ROOT, 'fixtures/tokenizers/phi3/llamacpp/ggml-vocab-phi-3.gguf');

/** Metadata with one value of every type, including a nested array. */
function allTypesMetadata(): Map<string, GgufTypedValue> {
  return new Map<string, GgufTypedValue>([
    ['general.architecture', kv.str('phi3')],
    ['t.u8', { type: GgufValueType.UINT8, value: 250 }],
    ['t.i8', { type: GgufValueType.INT8, value: -7 }],
    ['t.u16', { type: GgufValueType.UINT16, value: 65000 }],
    ['t.i16', { type: GgufValueType.INT16, value: -30000 }],
    ['t.u32', kv.u32(4_000_000_000)],
    ['t.i32', kv.i32(-2_000_000_000)],
    ['t.f32', kv.f32(0.25)],
    ['t.bool', kv.bool(true)],
    ['t.str', kv.str('héllo ✓')],
    ['t.u64', kv.u64(2n ** 60n)],
    ['t.i64', { type: GgufValueType.INT64, value: -5n }],
    ['t.f64', { type: GgufValueType.FLOAT64, value: Math.PI }],
    ['t.strs', kv.strArray(['a', '', '<0x0A>'])],
    ['t.f32s', kv.f32Array([1.5, -2])],
    ['t.bools', { type: GgufValueType.ARRAY, elementType: GgufValueType.BOOL, value: [true, false] }],
    ['t.u64s', { type: GgufValueType.ARRAY, elementType: GgufValueType.UINT64, value: [1n, 2n] }],
    [
      't.nested',
      {
        type: GgufValueType.ARRAY,
        elementType: GgufValueType.ARRAY,
        value: [kv.i32Array([1, 2, 3]), kv.strArray(['x'])],
      },
    ],
  ]);
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('GGUF header reader', () => {
  it('round-trips every metadata value type and tensor infos through the writer', () => {
    const file = encodeGguf(allTypesMetadata(), [
      { name: 'a', ne: [3, 2], type: GgmlType.F32, data: () => f32Bytes([1, 2, 3, 4, 5, 6]) },
      { name: 'b', ne: [32], type: GgmlType.Q8_0, data: () => new Uint8Array(34) },
    ]);
    const h = parseGgufHeader(file);
    expect(h.version).toBe(3);
    const m = h.metadata;
    expect([m.get('t.u8'), m.get('t.i8'), m.get('t.u16'), m.get('t.i16')]).toEqual([250, -7, 65000, -30000]);
    expect([m.get('t.u32'), m.get('t.i32'), m.get('t.f32'), m.get('t.bool')]).toEqual([4e9, -2e9, 0.25, true]);
    expect([m.get('t.str'), m.get('t.u64'), m.get('t.i64'), m.get('t.f64')]).toEqual(['héllo ✓', 2n ** 60n, -5n, Math.PI]);
    expect(m.get('t.strs')).toEqual(['a', '', '<0x0A>']);
    expect(m.get('t.f32s')).toEqual(new Float32Array([1.5, -2]));
    expect(m.get('t.bools')).toEqual([true, false]);
    expect(m.get('t.u64s')).toEqual(new BigUint64Array([1n, 2n]));
    expect(m.get('t.nested')).toEqual([new Int32Array([1, 2, 3]), ['x']]);
    expect(h.tensors.map((t) => [t.name, t.ne, t.shape, t.typeName, t.byteLength])).toEqual([
      ['a', [3, 2], [2, 3], 'F32', 24],
      ['b', [32], [32], 'Q8_0', 34],
    ]);
    expect(h.dataOffset % 32).toBe(0);
    expect(h.tensors[1].offset).toBe(h.dataOffset + 32); // 24 bytes padded to the alignment
    const a = h.tensors[0];
    expect(new Float32Array(file.slice(a.offset, a.offset + a.byteLength).buffer)).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
  });

  it('keeps a leading U+FEFF in strings and writes headers far larger than the writer\'s first buffer', () => {
    const pieces = Array.from({ length: 20_000 }, (_, i) => `piece-${i}`);
    pieces[7] = '\uFEFF'; // a real Llama vocabulary piece (id 30143), not a byte-order mark
    const h = parseGgufHeader(encodeGguf(new Map([['tokens', kv.strArray(pieces)], ['bom', kv.str('\uFEFFx')]]), []));
    expect(h.metadata.get('tokens')).toEqual(pieces);
    expect(h.metadata.get('bom')).toBe('\uFEFFx');
  });

  it('reads version 2 files (same layout as v3, which only added big-endian variants)', () => {
    const v3 = encodeGguf(allTypesMetadata(), [{ name: 'a', ne: [2], type: GgmlType.F32, data: () => f32Bytes([1, 2]) }]);
    const v2 = v3.slice();
    v2[4] = 2;
    const h = parseGgufHeader(v2);
    expect(h.version).toBe(2);
    expect(h.metadata).toEqual(parseGgufHeader(v3).metadata);
    expect(h.tensors).toEqual(parseGgufHeader(v3).tensors);
  });

  it('honours general.alignment for the data start and tensor offsets', () => {
    const meta = new Map([['general.alignment', kv.u32(64)]]);
    const file = encodeGguf(meta, [
      { name: 'x', ne: [1], type: GgmlType.F32, data: () => f32Bytes([7]) },
      { name: 'y', ne: [1], type: GgmlType.F32, data: () => f32Bytes([8]) },
    ], 64);
    const h = parseGgufHeader(file);
    expect(h.alignment).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    expect(h.tensors[1].offset - h.tensors[0].offset).toBe(64);
  });

  it('reads the llama.cpp phi-3 vocab file', () => {
    const h = readGgufMetadata(VOCAB_GGUF);
    expect(h.version).toBe(3);
    expect(h.tensors).toHaveLength(0);
    expect(ggufString(h.metadata, 'general.architecture')).toBe('phi3');
    expect(ggufInt(h.metadata, 'phi3.block_count')).toBe(32);
    const tokens = h.metadata.get('tokenizer.ggml.tokens') as string[];
    expect(tokens).toHaveLength(32064);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(tokens[32000]).toBe('<|endoftext|>');
    expect((h.metadata.get('tokenizer.ggml.scores') as Float32Array).length).toBe(32064);
    expect(h.metadata.get('tokenizer.ggml.token_type')).toBeInstanceOf(Int32Array);
    expect(ggufInt(h.metadata, 'tokenizer.ggml.eos_token_id')).toBe(32000);
    expect(ggufString(h.metadata, 'tokenizer.chat_template')).toContain('<|assistant|>');
  });

  it('accessors throw ConfigError naming the key', () => {
    const h = parseGgufHeader(encodeGguf(allTypesMetadata(), []));
    expect(() => ggufInt(h.metadata, 't.u64')).toThrow(/expected an integer/); // 2^60 is not exact as a number
    expect(ggufInt(h.metadata, 't.i64')).toBe(-5);
    expect(ggufInt(h.metadata, 'missing', 5)).toBe(5);
    expect(() => ggufInt(h.metadata, 't.str')).toThrow(ConfigError);
    expect(() => ggufString(h.metadata, 'missing')).toThrow(/missing/);
  });
});

describe('GGUF header reader rejects bad files with WeightsFormatError', () => {
  const good = encodeGguf(allTypesMetadata(), [
    { name: 'w', ne: [32, 2], type: GgmlType.Q4_0, data: () => new Uint8Array(36) },
  ]);
  const patched = (at: number, bytes: number[]) => {
    const copy = good.slice();
    copy.set(bytes, at);
    return copy;
  };
  const expectFormatError = (bytes: Uint8Array, message: RegExp) => {
    expect(() => parseGgufHeader(bytes, 'bad.gguf')).toThrow(WeightsFormatError);
    expect(() => parseGgufHeader(bytes, 'bad.gguf')).toThrow(message);
  };

  it('bad magic, version 1, unknown and big-endian versions', () => {
    expectFormatError(patched(0, [0x47, 0x47, 0x4d, 0x4c]), /bad magic/);
    expectFormatError(patched(4, [1, 0, 0, 0]), /version 1/);
    expectFormatError(patched(4, [9, 0, 0, 0]), /unsupported GGUF version 9/);
    expectFormatError(patched(4, [0, 0, 0, 3]), /big-endian/);
  });

  it('absurd tensor and metadata counts', () => {
    expectFormatError(patched(8, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /tensor count .* impossible/);
    expectFormatError(patched(16, [0, 0, 0, 0, 1, 0, 0, 0]), /metadata count .* impossible/);
  });

  it('every truncation of the header and data', () => {
    const w = parseGgufHeader(good).tensors[0];
    for (let n = 0; n < w.offset + w.byteLength; n++) {
      expect(() => parseGgufHeader(good.subarray(0, n))).toThrow(WeightsFormatError);
    }
  });

  it('tensor data past the end, misaligned offsets, bad dims and types', () => {
    const meta = new Map([['k', kv.u32(1)]]);
    const one = (ne: number[], type: number, size: number) =>
      encodeGguf(meta, [{ name: 'w', ne, type, data: () => new Uint8Array(size) }]);
    // Find the tensor info fields by their position at the end of the header.
    const f = one([4], GgmlType.F32, 16);
    expect(parseGgufHeader(f).tensors[0].byteLength).toBe(16);
    const infoEnd = findInfoEnd(f, 'w');
    expectFormatError(withU64(f, infoEnd - 8, 4n), /not a multiple of 32/);
    expectFormatError(withU64(f, infoEnd - 8, 32n), /runs past the end/);
    expectFormatError(withU32(f, infoEnd - 12, 99), /unknown ggml type 99/);
    expectFormatError(withU32(f, infoEnd - 12, GgmlType.Q8_0), /not a multiple of the Q8_0 block size/);
    expectFormatError(withU64(f, infoEnd - 20, 2n ** 62n), /cannot fit/);
    expectFormatError(withU32(f, infoEnd - 24, 5), /5 dimensions/);
  });
});

/** Byte offset just past the tensor info of `name` (its u64 offset field ends there). */
function findInfoEnd(file: Uint8Array, name: string): number {
  const needle = new TextEncoder().encode(name);
  for (let i = file.length - needle.length; i >= 0; i--) {
    if (needle.every((b, j) => file[i + j] === b) && file[i - 8] === needle.length) {
      return i + needle.length + 4 + 8 + 4 + 8; // n_dims, one dim, type, offset
    }
  }
  throw new Error('not found');
}
function withU64(file: Uint8Array, at: number, v: bigint): Uint8Array {
  const copy = file.slice();
  new DataView(copy.buffer).setBigUint64(at, v, true);
  return copy;
}
function withU32(file: Uint8Array, at: number, v: number): Uint8Array {
  const copy = file.slice();
  new DataView(copy.buffer).setUint32(at, v, true);
  return copy;
}
