// Splitting one kernel call over the worker threads that share a region's memory (../parallel/).
import type { ParallelKernel } from '../parallel/protocol.ts';
import type { WasmRegion } from './region.ts';

/**
 * Smallest call split over threads by default, in multiply-adds of a matvec or their equivalent (each
 * call site estimates its `work`): ~2^20 take 20–40 µs on one thread, where a hand-off to a worker
 * costs a few µs to tens of µs. Below it, a split is as likely to slow the call as to speed it: a tiny
 * model on two threads ran erratic (prefill 3900–18800 tok/s between repetitions) when every product of
 * 64 rows or more was split. ArenaOptions.parallelMinWork overrides it (tests: 0, split everything).
 */
export const PARALLEL_MIN_WORK = 1 << 20;

/**
 * Runs `kernel` over items [0, count) — matrix rows, attention heads — in equal slices of whole
 * `unit`s: the main thread takes the first slice, each worker one of the rest, and this returns when
 * all are done. Without workers, or when `work` is below the region's minimum (PARALLEL_MIN_WORK
 * unless configured), it is one call on this thread.
 * @param work    the call's size in multiply-adds or the like (see PARALLEL_MIN_WORK)
 * @param argsFor the kernel's i32 arguments for items [start, start + n), run by thread `thread`
 *   (0 = this one; workers 1 …), for kernels that need per-thread scratch
 */
export function runOverThreads(
  region: WasmRegion, kernel: ParallelKernel, count: number, unit: number, work: number,
  argsFor: (start: number, n: number, thread: number) => number[],
): void {
  const run = region.kernels[kernel] as (...args: number[]) => void;
  const parallel = region.parallel !== undefined && work >= region.parallel.minWork ? region.parallel : undefined;
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
