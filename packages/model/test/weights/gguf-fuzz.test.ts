// Fuzzing the GGUF header reader: whatever the bytes, the result is a parsed header or a
// WeightsFormatError — never another exception, a hang, or arrays larger than the file.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { parseGgufHeader, type GgufHeader } from '../../src/weights/gguf.ts';
import { encodeGguf, kv, type GgufTypedValue } from '../../src/weights/gguf-writer.ts';
import { GgmlType, GgufValueType } from '../../src/weights/gguf-types.ts';
import { WeightsFormatError } from '../../src/errors.ts';

const seed = 20241129;

const base = encodeGguf(
  new Map<string, GgufTypedValue>([
    ['general.architecture', kv.str('phi3')],
    ['phi3.block_count', kv.u32(2)],
    ['tokenizer.ggml.tokens', kv.strArray(['<unk>', '<s>', 'a', 'b'])],
    ['tokenizer.ggml.scores', kv.f32Array([0, 0, -1, -2])],
    ['nested', { type: GgufValueType.ARRAY, elementType: GgufValueType.ARRAY, value: [kv.i32Array([1, 2])] }],
  ]),
  [
    { name: 'token_embd.weight', ne: [32, 4], type: GgmlType.Q8_0, data: () => new Uint8Array(4 * 34) },
    { name: 'output_norm.weight', ne: [32], type: GgmlType.F32, data: () => new Uint8Array(128) },
  ],
);

/** Total elements of every metadata array (recursively): must never exceed the file size. */
function arrayElements(h: GgufHeader): number {
  let total = 0;
  const visit = (v: unknown) => {
    if (typeof v === 'object' && v !== null && 'length' in v) {
      const arr = v as ArrayLike<unknown>;
      total += arr.length;
      for (let i = 0; i < arr.length; i++) visit(arr[i]);
    }
  };
  for (const v of h.metadata.values()) visit(v);
  return total;
}

/** Parses and checks the outcome is either a sane header or a WeightsFormatError. */
function parseOrFormatError(bytes: Uint8Array): void {
  let header: GgufHeader;
  try {
    header = parseGgufHeader(bytes, 'fuzz.gguf');
  } catch (err) {
    expect(err).toBeInstanceOf(WeightsFormatError);
    expect((err as Error).message).toMatch(/^fuzz\.gguf: /);
    return;
  }
  expect(arrayElements(header)).toBeLessThanOrEqual(bytes.length);
  for (const t of header.tensors) expect(t.offset + t.byteLength).toBeLessThanOrEqual(bytes.length);
}

describe('GGUF reader fuzzing', () => {
  test.prop([fc.integer({ min: 0, max: base.length })], { seed, numRuns: 300 })('truncations', (n) => {
    parseOrFormatError(base.subarray(0, n));
  });

  test.prop(
    [fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })],
    { seed, numRuns: 500 },
  )('random bytes written anywhere in the header', (edits) => {
    const bytes = base.slice();
    for (const [at, b] of edits) bytes[at % bytes.length] = b;
    parseOrFormatError(bytes);
  });

  test.prop(
    [fc.nat(), fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 63n, 2n ** 64n - 1n, 1n << 40n))],
    { seed, numRuns: 500 },
  )('absurd u64 counts, lengths and offsets at any 8-byte position', (at, value) => {
    const bytes = base.slice();
    new DataView(bytes.buffer).setBigUint64(at % (bytes.length - 8), value, true);
    parseOrFormatError(bytes);
  });

  test.prop([fc.uint8Array({ minLength: 0, maxLength: 256 })], { seed, numRuns: 300 })(
    'random bytes after a valid magic and version',
    (tail) => {
      const bytes = new Uint8Array(8 + tail.length);
      bytes.set(base.subarray(0, 8));
      bytes.set(tail, 8);
      parseOrFormatError(bytes);
    },
  );
});
