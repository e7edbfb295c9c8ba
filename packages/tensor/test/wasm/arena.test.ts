import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, quantizeMatrix } from '../../src/matrix.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { regionOf } from '../../src/wasm/region.ts';
import { randomArray } from '../helpers.ts';

describe('WasmWeightArena', () => {
  it('copies a matrix once into wasm memory and returns a view with the same format, shape and bytes', () => {
    const arena = new WasmWeightArena({ maxBytesPerMemory: 8 * 1024 * 1024 });
    const w = quantizeMatrix(denseMatrix(randomArray(8 * 64, 1), 8, 64), 'q4_0');
    const placed = arena.place(w);
    expect(placed).toMatchObject({ format: 'q4_0', rows: 8, cols: 64 });
    expect(placed.data).toEqual(w.data);
    expect(placed.data.buffer).not.toBe(w.data.buffer);
    expect(regionOf(placed.data)).toBeDefined();
    expect(placed.data.byteOffset % 64).toBe(0);
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
