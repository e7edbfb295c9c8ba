// A persistent pool of worker threads that run slices of a matvec's rows on the same shared wasm
// memories as the main thread: weights, activation codes and outputs are never copied, a job is a
// few i32 stores plus one Atomics.notify, picked up by a worker that polls for a while before it
// sleeps (protocol.ts SPIN_MS), so whole matvecs are split, never tiny pieces. The main thread
// works on its own slice meanwhile.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { kernelModule } from '../wasm/kernels.ts';
import {
  ARG0, DONE, FAILED, FN, KERNEL_NAMES, MAX_ARGS, OP, OP_ADD_REGION, OP_CALL, OP_EXIT, REGION, SEQ, SLOT_INTS, SPIN_MS, type ParallelKernel,
} from './protocol.ts';

export class MatvecPool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly control: Int32Array;
  private readonly seq: number[];
  private closed = false;
  private calls = 0;

  /** @param helpers worker threads besides the main thread (threads − 1) */
  constructor(readonly helpers: number) {
    const buffer = new SharedArrayBuffer(helpers * SLOT_INTS * 4);
    this.control = new Int32Array(buffer);
    this.seq = new Array<number>(helpers).fill(0);
    for (let slot = 0; slot < helpers; slot++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: { control: buffer, slot, port: port2, module: kernelModule() },
        transferList: [port2],
      });
      worker.unref(); // an idle pool never keeps the process alive
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Kernel calls handed to workers so far (a health check for tests and benchmarks). */
  get jobsStarted(): number {
    return this.calls;
  }

  /** Sends a weight memory to every worker (region index = order of calls); blocks until all have it. */
  addMemory(memory: WebAssembly.Memory): void {
    for (let i = 0; i < this.helpers; i++) {
      this.ports[i].postMessage({ memory });
      this.post(i, OP_ADD_REGION);
    }
    for (let i = 0; i < this.helpers; i++) this.wait(i);
  }

  /** Starts `kernel(args)` on worker `i` over memory `region`; returns at once (pair with `wait`). */
  start(i: number, region: number, kernel: ParallelKernel, args: readonly number[]): void {
    const base = i * SLOT_INTS;
    this.control[base + REGION] = region;
    this.control[base + FN] = KERNEL_NAMES.indexOf(kernel);
    for (let a = 0; a < Math.min(args.length, MAX_ARGS); a++) this.control[base + ARG0 + a] = args[a];
    this.post(i, OP_CALL);
    this.calls += 1;
  }

  /** Blocks until worker `i` has finished its last job; throws if that job failed in the worker. */
  wait(i: number): void {
    const doneIndex = i * SLOT_INTS + DONE;
    const deadline = performance.now() + SPIN_MS; // see SPIN_MS
    while (Atomics.load(this.control, doneIndex) !== this.seq[i] && performance.now() < deadline) {
      for (let p = 0; p < 1000 && Atomics.load(this.control, doneIndex) !== this.seq[i]; p++);
    }
    for (;;) {
      const done = Atomics.load(this.control, doneIndex);
      if (done === this.seq[i]) break;
      Atomics.wait(this.control, doneIndex, done);
    }
    if (this.control[i * SLOT_INTS + FAILED] !== 0) throw new Error(`matvec worker ${i}: kernel call failed (wasm trap)`);
  }

  /** Stops the workers (pending jobs finish first). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = 0; i < this.helpers; i++) {
      this.post(i, OP_EXIT);
      this.ports[i].close();
    }
  }

  private post(i: number, op: number): void {
    const base = i * SLOT_INTS;
    this.control[base + OP] = op;
    this.seq[i] += 1;
    Atomics.store(this.control, base + SEQ, this.seq[i]);
    Atomics.notify(this.control, base + SEQ);
  }
}
