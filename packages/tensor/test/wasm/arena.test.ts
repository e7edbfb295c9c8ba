import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { rowGroupBytes, toRowGroupsInto } from '../../src/quant/row-groups.ts';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, dequantizeMatrix, quantizeMatrix, storedInMemory, type QuantizedMatrix, type StoredMatrix, type WeightMatrix } from '../../src/matrix.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { regionOf } from '../../src/wasm/region.ts';
import { createRng } from '../../src/random.ts';
import { firstByteDifference, PROP, randomArray } from '../helpers.ts';

describe('WasmWeightArena', () => {
  it('copies a matrix once into wasm memory: same format, shape and rows (Q4_0 rearranged into row groups)', () => {
    const arena = new WasmWeightArena({ maxBytesPerMemory: 8 * 1024 * 1024 });
    const w = quantizeMatrix(denseMatrix(randomArray(7 * 64, 1), 7, 64), 'q4_0');
    const placed = arena.place(w);
    expect(placed).toMatchObject({ format: 'q4_0', rows: 7, cols: 64, layout: 'row-groups' });
    expect(placed.data.byteLength).toBe(8 * 2 * 18); // padded to two groups of four rows
    expect(dequantizeMatrix(placed)).toEqual(dequantizeMatrix(w));
    expect(placed.data.buffer).not.toBe(w.data.buffer);
    expect(regionOf(placed.data)).toBeDefined();
    expect(placed.data.byteOffset % 64).toBe(0);
    const dense = denseMatrix(randomArray(3 * 32, 2), 3, 32);
    expect(arena.place(dense).data).toEqual(dense.data); // f32 as is
  });

  test.prop([fc.constantFrom('q8_0' as const, 'q4_0' as const), fc.oneof(fc.integer({ min: 1, max: 11 }), fc.constant(1001)), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 1000 })], { ...PROP, numRuns: 20 })(
    'rearranges into row groups in wasm exactly as toRowGroupsInto does (staged in whole groups, padded last group)', (format, rows, blocks, s) => {
      const arena = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
      const w = quantizeMatrix(denseMatrix(randomArray(rows * 32 * blocks, s), rows, 32 * blocks), format);
      const want = new Uint8Array(rowGroupBytes(format, rows, 32 * blocks));
      toRowGroupsInto(want, w.data, format, rows, 32 * blocks);
      expect(firstByteDifference(arena.place(w).data as Uint8Array, want)).toBe(-1);
    });

  it('refuses a Q8_0 matrix with an Inf/NaN scale', () => {
    const w = quantizeMatrix(denseMatrix(randomArray(4 * 32, 5), 4, 32), 'q8_0');
    const bad = w.data.slice();
    bad[34 * 2 + 1] = 0x7e; // row 2's scale: NaN
    expect(() => new WasmWeightArena().place({ ...w, data: bad })).toThrow(/row 2 block 0 has an Inf\/NaN scale/);
  });

  it('opens a second memory when the first is full, and keeps earlier views valid across growth', () => {
    const arena = new WasmWeightArena({ maxBytesPerMemory: 2 * 1024 * 1024 }); // 2 MiB per memory: the f16 table takes 256 KiB
    const a = denseMatrix(randomArray(256 * 1024, 2), 512, 512); // 1 MiB
    const pa = arena.place(a);
    const pb = arena.place(denseMatrix(randomArray(128 * 1024, 3), 256, 512)); // grows memory 1
    expect(arena.memoryCount).toBe(1);
    const pc = arena.place(a); // does not fit: memory 2
    expect(arena.memoryCount).toBe(2);
    expect(regionOf(pc.data)).not.toBe(regionOf(pa.data));
    expect(pa.data).toEqual(a.data); // still readable after memory 1 grew
    expect(pb.data.length).toBe(128 * 1024);
  });

  it('rejects a matrix larger than one memory with a ShapeError', () => {
    const arena = new WasmWeightArena({ maxBytesPerMemory: 1024 * 1024 });
    expect(() => arena.place(denseMatrix(new Float32Array(512 * 1024), 1024, 512))).toThrow(ShapeError);
  });

  describe('placeStored', () => {
    /** `w`'s stored bytes behind a reader that records the size of every read. */
    function recorded(w: WeightMatrix): { stored: StoredMatrix; reads: number[] } {
      const inner = storedInMemory(w);
      const reads: number[] = [];
      return { reads, stored: { ...inner, readBytes: (into, offset) => { reads.push(into.length); inner.readBytes(into, offset); } } };
    }

    /** A [rows, cols] Q8_0 / Q4_0 matrix of random codes and finite scales (quick to make at MB sizes). */
    function randomBlocks(format: 'q8_0' | 'q4_0', rows: number, cols: number, seed: number): QuantizedMatrix {
      const block = format === 'q8_0' ? 34 : 18;
      const data = new Uint8Array(rows * (cols / 32) * block);
      const rng = createRng(seed);
      for (let i = 0; i < data.length; i++) data[i] = (rng.next() * 256) | 0;
      for (let at = 1; at < data.length; at += block) data[at] &= 0x3b; // exponent bits never all ones
      return { format, rows, cols, data };
    }

    it.each(['q8_0', 'q4_0'] as const)('reads %s rows in pieces of at most 1 MiB straight into wasm memory, as place arranges them', (format) => {
      const arena = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
      const w = randomBlocks(format, 1001, 2048, 6); // 2.2 / 1.2 MB
      const { stored, reads } = recorded(w);
      const placed = arena.placeStored(stored);
      expect(placed).toMatchObject({ format, rows: 1001, cols: 2048, layout: 'row-groups' });
      expect(firstByteDifference(placed.data as Uint8Array, arena.place(w).data as Uint8Array)).toBe(-1);
      expect(reads.length).toBeGreaterThan(1);
      expect(Math.max(...reads)).toBeLessThanOrEqual(1 << 20);
      expect(reads.reduce((a, b) => a + b, 0)).toBe(w.data.byteLength);
    });

    it('reads f32 and other block formats whole into their place, and views them with the right type', () => {
      const arena = new WasmWeightArena({ maxBytesPerMemory: 8 * 1024 * 1024 });
      const dense = denseMatrix(randomArray(5 * 64, 7), 5, 64);
      const placedDense = arena.placeStored(storedInMemory(dense));
      expect(placedDense.data).toBeInstanceOf(Float32Array);
      expect(placedDense.data).toEqual(dense.data);
      const f16 = quantizeMatrix(dense, 'f16');
      const { stored, reads } = recorded(f16);
      expect(arena.placeStored(stored).data).toEqual(f16.data);
      expect(reads).toEqual([f16.data.byteLength]);
      expect(regionOf(placedDense.data)).toBeDefined();
    });

    it('names the row of an Inf/NaN scale found in a later piece, and passes on read errors', () => {
      const arena = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
      const w = randomBlocks('q8_0', 1001, 2048, 8);
      const bad = w.data.slice();
      bad[(700 * 64 + 3) * 34 + 1] = 0x7c; // row 700, block 3: +Inf, past the first 1 MiB piece
      expect(() => arena.placeStored(storedInMemory({ ...w, data: bad }))).toThrow(/row 700 block 3 has an Inf\/NaN scale/);
      const failing: StoredMatrix = { ...storedInMemory(w), readBytes: () => { throw new Error('disk gone'); } };
      expect(() => arena.placeStored(failing)).toThrow('disk gone');
      expect(() => arena.placeStored({ ...storedInMemory(w), cols: 2047 })).toThrow(ShapeError);
    });

    it('storedInMemory refuses a matrix already in row groups (its bytes are not in stored order)', () => {
      const placed = new WasmWeightArena().place(quantizeMatrix(denseMatrix(randomArray(4 * 32, 9), 4, 32), 'q4_0'));
      expect(() => storedInMemory(placed)).toThrow(ShapeError);
    });
  });
});
