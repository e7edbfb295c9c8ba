// safetensors reader: round trips, sharded index, and hostile files (fast-check mutations) that must
// end in WeightsFormatError, never in another exception or a header-driven allocation.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f32ToBf16, f32ToF16 } from '@phi3/tensor';
import { WeightsFormatError } from '../../src/errors.ts';
import { SafetensorsFile } from '../../src/weights/safetensors.ts';
import { openSafetensorsFolder } from '../../src/weights/source.ts';

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Serializes entries back to back, header padded with spaces to a multiple of 8 (as HF writes it). */
function encode(entries: Entry[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let p = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, p);
    p += e.bytes.length;
  }
  return out;
}

const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
const dir = mkdtempSync(join(tmpdir(), 'phi3-st-'));
let fileNo = 0;
function writeTemp(bytes: Uint8Array): string {
  const path = join(dir, `t${fileNo++}.safetensors`);
  writeFileSync(path, bytes);
  return path;
}

const values = [1.5, -2.25, 0, 3e-3, 65504, -0.125];
const sample: Entry[] = [
  { name: 'a', dtype: 'F32', shape: [2, 3], bytes: f32(values) },
  { name: 'b', dtype: 'BF16', shape: [6], bytes: u16(values.map(f32ToBf16)) },
  { name: 'c', dtype: 'F16', shape: [3, 2], bytes: u16(values.map(f32ToF16)) },
];

describe('SafetensorsFile', () => {
  it('reads F32, BF16 and F16 tensors widened to f32', () => {
    const file = new SafetensorsFile(writeTemp(encode(sample)));
    expect(Array.from(file.readF32('a'))).toEqual(values.map(Math.fround));
    const bf = file.readF32('b');
    values.forEach((x, i) => expect(Math.abs(bf[i] - x)).toBeLessThanOrEqual(Math.abs(x) / 128));
    const h = file.readF32('c');
    values.forEach((x, i) => expect(Math.abs(h[i] - x)).toBeLessThanOrEqual(Math.abs(x) / 1024));
    expect(file.entries.get('c')!.shape).toEqual([3, 2]);
    expect(() => file.readF32('nope')).toThrow(WeightsFormatError);
    file.close();
  });

  const bad: Array<[string, (b: Uint8Array) => Uint8Array, RegExp]> = [
    ['a header length past the end of the file', (b) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(0, 1n << 40n, true); return c; }, /header length/],
    ['a truncated data section', (b) => b.slice(0, b.length - 3), /outside/],
    ['a file shorter than 8 bytes', (b) => b.slice(0, 5), /too short/],
  ];
  for (const [what, mutate, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => new SafetensorsFile(writeTemp(mutate(encode(sample))))).toThrow(message);
    });
  }

  it('rejects overlapping ranges, shape/size mismatches, unknown dtypes and non-JSON headers', () => {
    const raw = (header: unknown, dataBytes: number) => {
      const json = JSON.stringify(header);
      const out = new Uint8Array(8 + json.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(new TextEncoder().encode(json), 8);
      return writeTemp(out);
    };
    expect(() => new SafetensorsFile(raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12))).toThrow(/overlap/);
    expect(() => new SafetensorsFile(raw({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toThrow(/does not match/);
    expect(() => new SafetensorsFile(raw({ a: { dtype: 'Q9', shape: [2], data_offsets: [0, 8] } }, 8))).toThrow(/unknown dtype/);
    expect(() => new SafetensorsFile(raw({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8))).toThrow(/invalid shape/);
    expect(() => new SafetensorsFile(raw([1, 2], 0))).toThrow(/not a JSON object/);
    const notJson = new Uint8Array(16);
    new DataView(notJson.buffer).setBigUint64(0, 8n, true);
    notJson.set(new TextEncoder().encode('{"a": [}'), 8);
    expect(() => new SafetensorsFile(writeTemp(notJson))).toThrow(/not valid UTF-8 JSON/);
    expect(() => new SafetensorsFile(join(dir, 'missing.safetensors'))).toThrow(/cannot open/);
  });

  it('mutated or truncated files give WeightsFormatError or read back consistently (fast-check)', () => {
    const good = encode(sample);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: good.length - 1 }) }),
          fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: good.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }),
          fc.record({ kind: fc.constant('length' as const), len: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
        ),
        (m) => {
          let bytes = good.slice();
          if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else if (m.kind === 'flip') bytes[m.at] = m.byte;
          else new DataView(bytes.buffer).setBigUint64(0, m.len, true);
          try {
            const file = new SafetensorsFile(writeTemp(bytes));
            for (const [name, e] of file.entries) {
              try {
                expect(file.readF32(name).length).toBe(e.shape.reduce((a, b) => a * b, 1));
              } catch (err) {
                expect(err).toBeInstanceOf(WeightsFormatError); // e.g. a dtype flipped to I32
              }
            }
            file.close();
          } catch (err) {
            expect(err).toBeInstanceOf(WeightsFormatError);
          }
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});

describe('openSafetensorsFolder', () => {
  const shardDir = (index: unknown, shards: Record<string, Entry[]>) => {
    const d = mkdtempSync(join(tmpdir(), 'phi3-shards-'));
    for (const [name, entries] of Object.entries(shards)) writeFileSync(join(d, name), encode(entries));
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    return d;
  };

  it('reads a sharded checkpoint through its index', () => {
    const d = shardDir(
      { metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } },
      { 'model-00001-of-00002.safetensors': [sample[0]], 'model-00002-of-00002.safetensors': [sample[1], sample[2]] },
    );
    const src = openSafetensorsFolder(d);
    expect(src.names().sort()).toEqual(['a', 'b', 'c']);
    expect(src.info('c')).toEqual({ name: 'c', shape: [3, 2], dtype: 'F16' });
    const m = src.getMatrix('a');
    expect([m.rows, m.cols]).toEqual([2, 3]);
    expect(() => src.getMatrix('b')).toThrow(/not 2-D/);
    expect(() => src.getF32('zzz')).toThrow(/missing tensor "zzz"/);
    src.close();
  });

  it('rejects indexes that point outside the folder or at tensors a shard lacks', () => {
    const shards = { 's.safetensors': [sample[0]] };
    expect(() => openSafetensorsFolder(shardDir({ weight_map: { a: '../s.safetensors' } }, shards))).toThrow(/inside the model folder/);
    expect(() => openSafetensorsFolder(shardDir({ weight_map: { a: 's.safetensors', q: 's.safetensors' } }, shards))).toThrow(/no such tensor/);
    expect(() => openSafetensorsFolder(shardDir({ weight_map: [1] }, shards))).toThrow(/weight_map must be an object/);
    expect(() => openSafetensorsFolder(mkdtempSync(join(tmpdir(), 'phi3-empty-')))).toThrow(WeightsFormatError);
  });
});
