// Two threads (main + one worker sharing the wasm memories) give the same bits as one: each row is
// computed by the same kernel code whichever thread takes its slice.
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { denseMatrix, quantizeMatrix, type WeightMatrix } from '../../src/matrix.ts';
import { linearInto } from '../../src/ops/linear.ts';
import { MatvecPool } from '../../src/parallel/pool.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { WasmRegion } from '../../src/wasm/region.ts';
import { PROP, randomArray } from '../helpers.ts';

const one = new WasmWeightArena({ maxBytesPerMemory: 32 * 1024 * 1024 });
const two = new WasmWeightArena({ threads: 2, maxBytesPerMemory: 32 * 1024 * 1024, parallelMinWork: 0 }); // split every product
const twoByDefault = new WasmWeightArena({ threads: 2, maxBytesPerMemory: 32 * 1024 * 1024 });
afterAll(() => {
  two.close();
  twoByDefault.close();
});

/** W · x on one thread and on two ([T, rows] each), and how many calls the worker took in the second. */
function withOneAndTwoThreads(w: WeightMatrix, x: Float32Array, T: number): { got: Float32Array; want: Float32Array; workerJobs: number } {
  const want = new Float32Array(T * w.rows);
  const got = new Float32Array(T * w.rows).fill(NaN);
  linearInto(want, x, one.place(w), T);
  const jobs = two.workerJobs;
  linearInto(got, x, two.place(w), T);
  return { got, want, workerJobs: two.workerJobs - jobs };
}

describe('WasmWeightArena with 2 threads', () => {
  test.prop([fc.constantFrom('f32', 'q8_0', 'q4_0' as const), fc.integer({ min: 64, max: 300 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.nat()], { ...PROP, numRuns: 25 })(
    'splits rows over the worker and equals the single-thread result exactly', (format, rows, blocks, T, seed) => {
      const cols = 32 * blocks;
      const dense = denseMatrix(randomArray(rows * cols, seed), rows, cols);
      const w = format === 'f32' ? dense : quantizeMatrix(dense, format);
      const { got, want, workerJobs } = withOneAndTwoThreads(w, randomArray(T * cols, seed + 1), T);
      expect(got).toEqual(want);
      // the worker took a slice of every product: per token (f32 decode), or one call for all tokens;
      // and of the activation quantizer when there are two blocks or more
      const quantizerJobs = format !== 'f32' && T * blocks >= 2 ? 1 : 0;
      expect(workerJobs).toBe((format === 'f32' && T < 4 ? T : 1) + quantizerJobs);
    });

  it.each(['q8_0', 'q4_0'] as const)('splits a prefill\'s activation quantization (%s) over the worker too, with the same bits', (format) => {
    const [rows, cols, T] = [64, 1024, 64];
    const w = quantizeMatrix(denseMatrix(randomArray(rows * cols, 3), rows, cols), format);
    const { got, want, workerJobs } = withOneAndTwoThreads(w, randomArray(T * cols, 4), T);
    expect(got).toEqual(want);
    expect(workerJobs).toBe(2); // the quantizer's half, then the tiles' half
  });

  it('by default splits a product only from 2^20 multiply-adds on (rows · cols · tokens), a quantizer from 4096 blocks', () => {
    const jobsFor = (rows: number, cols: number, T: number): number => {
      const w = twoByDefault.place(quantizeMatrix(denseMatrix(randomArray(rows * cols, 5), rows, cols), 'q8_0'));
      const jobs = twoByDefault.workerJobs;
      linearInto(new Float32Array(T * rows), randomArray(T * cols, 6), w, T);
      return twoByDefault.workerJobs - jobs;
    };
    expect(jobsFor(256, 2048, 1)).toBe(0); // 2^19: all on this thread
    expect(jobsFor(512, 2048, 1)).toBe(1); // 2^20: the product split, the quantizer (64 blocks) not
    expect(jobsFor(64, 1024, 8)).toBe(0); // a short prefill
    expect(jobsFor(64, 4096, 32)).toBe(2); // 4096 quantizer blocks and 2^23 multiply-adds: both split
  });

  it('sends a second memory to the worker when the first is full', () => {
    const small = new WasmWeightArena({ threads: 2, maxBytesPerMemory: 2 * 1024 * 1024 });
    try {
      const w = denseMatrix(randomArray(256 * 1024, 7), 512, 512); // 1 MiB: two of them need two memories
      const x = randomArray(512, 8);
      const placed = [small.place(w), small.place(w)];
      expect(small.memoryCount).toBe(2);
      const want = new Float32Array(512);
      linearInto(want, x, one.place(w), 1);
      for (const p of placed) {
        const got = new Float32Array(512);
        linearInto(got, x, p, 1);
        expect(got).toEqual(want);
      }
      small.close(); // after close the same weights still work, on the main thread alone
      const after = new Float32Array(512);
      linearInto(after, x, placed[1], 1);
      expect(after).toEqual(want);
    } finally {
      small.close();
    }
  });

  it('rejects a thread count outside [1, 64] and a split threshold that is not a number ≥ 0', () => {
    expect(() => new WasmWeightArena({ threads: 0 })).toThrow(/threads/);
    expect(() => new WasmWeightArena({ threads: 1.5 })).toThrow(/threads/);
    expect(() => new WasmWeightArena({ threads: 2, parallelMinWork: Number.NaN })).toThrow(/parallelMinWork/);
  });
});

describe('MatvecPool', () => {
  it('reports a kernel that trapped in the worker instead of waiting forever, and keeps working', () => {
    const region = new WasmRegion(16); // 1 MiB memory
    const pool = new MatvecPool(1);
    try {
      pool.addMemory(region.memory);
      pool.start(0, 0, 'f32_matvec', [0x7fff0000, 0, 1024, 1, 1]); // weights far past the memory's end
      expect(() => pool.wait(0)).toThrow(/wasm trap/);
      const area = region.allocate(64)!;
      const f = new Float32Array(area.buffer, area.byteOffset, 5);
      f.set([2, 3, 5, 7]); // W = [2, 3], x = [5, 7], y after them
      const at = area.byteOffset;
      pool.start(0, 0, 'f32_matvec', [at, at + 8, at + 16, 1, 2]);
      pool.wait(0);
      expect(f[4]).toBe(31); // 2·5 + 3·7
    } finally {
      pool.close();
    }
  });
});
