// Splitting one kernel call over the worker threads that share a region's memory (../parallel/).
import type { ParallelKernel } from '../parallel/protocol.ts';
import type { WasmRegion } from './region.ts';

/**
 * Runs `kernel` over items [0, count) — matrix rows, attention heads — in equal slices of whole
 * `unit`s: the main thread takes the first slice, each worker one of the rest, and this returns when
 * all are done. Without workers (or with fewer than `minCount` items) it is one call on this thread.
 * @param argsFor the kernel's i32 arguments for items [start, start + n), run by thread `thread`
 *   (0 = this one; workers 1 …), for kernels that need per-thread scratch
 */
export function runOverThreads(
  region: WasmRegion, kernel: ParallelKernel, count: number, unit: number, minCount: number,
  argsFor: (start: number, n: number, thread: number) => number[],
): void {
  const run = region.kernels[kernel] as (...args: number[]) => void;
  const parallel = count >= minCount ? region.parallel : undefined;
  if (parallel === undefined) {
    run(...argsFor(0, count, 0));
    return;
  }
  const { pool, index } = parallel;
  const slice = Math.ceil(count / (pool.helpers + 1) / unit) * unit;
  const started: number[] = [];
  for (let i = 0; i < pool.helpers; i++) {
    const start = slice * (i + 1);
    if (start >= count) break;
    pool.start(i, index, kernel, argsFor(start, Math.min(slice, count - start), i + 1));
    started.push(i);
  }
  run(...argsFor(0, Math.min(slice, count), 0));
  for (const i of started) pool.wait(i);
}
