// The GGUF block formats beyond Q8_0/Q4_0 (and F16/BF16 rows) against the per-element reference
// decoders, hand-built K-quant blocks, and block-by-block dots against dequantize-then-dot.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { f32ToBf16, f32ToF16 } from '../../src/dtype.ts';
import type { BlockFormat } from '../../src/quant/format.ts';
import { GGUF_FORMATS } from '../../src/quant/gguf-formats.ts';
import { blockFormat } from '../../src/quant/registry.ts';
import { quantizedMatrix, quantizeMatrix, denseMatrix, dequantizeMatrix } from '../../src/matrix.ts';
import { linearInto, linearRefInto } from '../../src/ops/linear.ts';
import { referenceDequantize } from './reference-decoders.ts';

const seed = 4242;
const NAMES = Object.keys(GGUF_FORMATS) as Array<keyof typeof GGUF_FORMATS>;

/** Byte offsets of the f16 scale fields inside one block of each format. */
const SCALE_FIELDS: Record<string, number[]> = {
  q4_1: [0, 2], q5_0: [0], q5_1: [0, 2], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208], f16: [0], bf16: [0],
};

/**
 * Random blocks: random code bytes, with every f16/bf16 scale set to a finite value so sums stay finite.
 * @param nBlocks blocks to make; `scales` supplies one float per scale field
 */
function randomBlocks(format: BlockFormat, bytes: Uint8Array, scales: number[]): Uint8Array {
  const out = bytes.slice(0, (bytes.length / format.blockBytes | 0) * format.blockBytes);
  const encode = format.name === 'bf16' ? f32ToBf16 : f32ToF16;
  let k = 0;
  for (let o = 0; o < out.length; o += format.blockBytes) {
    for (const field of SCALE_FIELDS[format.name]) {
      const bits = encode(scales[k++ % scales.length]);
      out[o + field] = bits & 0xff;
      out[o + field + 1] = bits >> 8;
    }
  }
  return out;
}

const blocksArb = (format: BlockFormat) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 1, maxLength: 16 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    )
    .map(([nBlocks, scales, s]) => {
      const bytes = new Uint8Array(nBlocks * format.blockBytes);
      let state = s | 1;
      for (let i = 0; i < bytes.length; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      return randomBlocks(format, bytes, scales);
    });

describe.each(NAMES)('%s', (name) => {
  const format = GGUF_FORMATS[name];

  it('is registered under its GGUF name', () => {
    expect(blockFormat(name)).toBe(format);
  });

  test.prop([blocksArb(format), fc.integer({ min: 0, max: 3 })], { seed, numRuns: 60 })(
    'dequantizeRowInto equals the per-element reference decoder',
    (blocks, pad) => {
      const n = (blocks.length / format.blockBytes) * format.blockSize;
      // Place the blocks at a non-zero byte offset and decode into a non-zero output offset.
      const src = new Uint8Array(pad * format.blockBytes + blocks.length);
      src.set(blocks, pad * format.blockBytes);
      const out = new Float32Array(pad + n);
      format.dequantizeRowInto(out, pad, src, pad * format.blockBytes, n);
      expect(out.subarray(pad)).toEqual(referenceDequantize(name, blocks, n));
    },
  );

  test.prop([blocksArb(format), fc.integer({ min: 0, max: 2 ** 31 - 1 })], { seed, numRuns: 60 })(
    'dotRow equals the dot with the dequantized row',
    (blocks, s) => {
      const n = (blocks.length / format.blockBytes) * format.blockSize;
      const w = referenceDequantize(name, blocks, n);
      const x = new Float32Array(n + 1).map((_, i) => Math.sin(s + 7 * i));
      let expected = 0;
      let magnitude = 0;
      for (let i = 0; i < n; i++) {
        expected += w[i] * x[i + 1];
        magnitude += Math.abs(w[i] * x[i + 1]);
      }
      const got = format.dotRow(blocks, 0, x, 1, n);
      // The reference rounds each weight to f32 (as a stored dequantized row); dotRow uses the exact value.
      expect(Math.abs(got - expected)).toBeLessThanOrEqual(2 ** -22 * magnitude + 1e-10);
    },
  );

  test.prop([fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })], { seed, numRuns: 20 })(
    'linearInto on a quantized matrix equals linearRefInto',
    (rows, T, blocksPerRow) => {
      const cols = blocksPerRow * format.blockSize;
      const bytes = new Uint8Array(rows * blocksPerRow * format.blockBytes).map((_, i) => (i * 151 + rows) & 0xff);
      const w = quantizedMatrix(name, randomBlocks(format, bytes, [0.5, -0.25, 0.125]), rows, cols);
      const x = new Float32Array(T * cols).map((_, i) => Math.cos(i));
      const out = new Float32Array(T * rows);
      const ref = new Float32Array(T * rows);
      linearInto(out, x, w, T);
      linearRefInto(ref, x, w, T);
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ref[i], 3);
    },
  );
});

describe('round trips for the formats that quantize', () => {
  const quantizing = NAMES.filter((n) => GGUF_FORMATS[n].quantizeRowInto);

  it('covers q4_1, q5_0, q5_1, f16 and bf16', () => {
    expect(quantizing.sort()).toEqual(['bf16', 'f16', 'q4_1', 'q5_0', 'q5_1']);
  });

  test.prop([fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 32, maxLength: 32 })], { seed, numRuns: 100 })(
    'dequantize(quantize(x)) is within half a step of x',
    (values) => {
      const x = Float32Array.from(values);
      const amax = Math.max(...values.map(Math.abs));
      const range = Math.max(...values) - Math.min(...values);
      // One quantization step per format (f16/bf16: relative), plus the f16 rounding of d and m.
      const step: Record<string, (v: number) => number> = {
        q4_1: () => range / 15,
        q5_0: () => (2 * amax) / 16, // codes −16..15: the end opposite the largest value clamps, a full step
        q5_1: () => range / 31,
        f16: (v) => Math.abs(v) * 2 ** -10 + 2 ** -24,
        bf16: (v) => Math.abs(v) * 2 ** -7,
      };
      for (const name of quantizing) {
        const q = quantizeMatrix(denseMatrix(x, 1, 32), name);
        const back = dequantizeMatrix(q);
        for (let i = 0; i < 32; i++) {
          // + f16 rounding of d and m, and an absolute floor for values in f16's subnormal range
          const bound = step[name](x[i]) * 0.5 * 1.05 + amax * 2 ** -10 + 1e-5;
          expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(bound);
        }
      }
    },
  );

  it('q4_1 matches a hand-computed block', () => {
    // min −1, max 14 → d = 1, m = −1; x = −1 + k for k = 0..15 and the upper half 14 − k.
    const x = Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? -1 + i : 14 - (i - 16)));
    const q = quantizeMatrix(denseMatrix(x, 1, 32), 'q4_1').data;
    expect([...q.subarray(0, 4)]).toEqual([0x00, 0x3c, 0x00, 0xbc]); // f16 1.0, f16 −1.0
    expect(q[4]).toBe(0 | (15 << 4)); // element 0 → code 0, element 16 → code 15
    expect(dequantizeMatrix({ format: 'q4_1', rows: 1, cols: 32, data: q })).toEqual(x);
  });
});
