import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { rowGroupBytes, toRowGroupsInto } from '../../src/quant/row-groups.ts';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, dequantizeMatrix, quantizeMatrix } from '../../src/matrix.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { regionOf } from '../../src/wasm/region.ts';
import { PROP, randomArray } from '../helpers.ts';

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
      expect(arena.place(w).data).toEqual(want);
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
});
