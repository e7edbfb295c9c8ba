// WasmWeightArena: where a model's weights live when the WebAssembly kernels run them. Each matrix is
// copied once, at load, into a shared WebAssembly.Memory (region.ts); the returned WeightMatrix views
// those bytes, so every later matvec streams the weights straight from wasm memory with no copy.
// One memory holds at most 4 GiB (Node 20): when it is full the arena opens another, each with its
// own kernel instance, so models larger than 4 GiB (phi-3-mini f32, medium) still fit.
import { ShapeError } from '../errors.ts';
import { storedInMemory, storedMatrixBytes, type StoredMatrix, type WeightMatrix } from '../matrix.ts';
import { MatvecPool } from '../parallel/pool.ts';
import { isRowGroupFormat, rowGroupBytes } from '../quant/row-groups.ts';
import { MAX_PAGES, PAGE_BYTES, wasmSimdSupported } from './kernels.ts';
import { regionOf, TABLE_BYTES, WasmRegion } from './region.ts';
import { PARALLEL_MIN_WORK } from './threads.ts';

export interface ArenaOptions {
  /**
   * Threads that run each decode matvec (default 1): threads − 1 worker threads share the memories
   * and take equal slices of the rows (parallel/pool.ts).
   */
  readonly threads?: number;
  /** Cap per WebAssembly.Memory (default and maximum 4 GiB; tests use less to exercise the spill to a second memory). */
  readonly maxBytesPerMemory?: number;
  /** Smallest kernel call split over the threads, in multiply-adds (default PARALLEL_MIN_WORK; tests use 0 to split every call). */
  readonly parallelMinWork?: number;
}

export class WasmWeightArena {
  private readonly regions: WasmRegion[] = [];
  private readonly maxBytesPerMemory: number;
  private readonly pool: MatvecPool | undefined;
  private readonly parallelMinWork: number;

  constructor(options: ArenaOptions = {}) {
    if (!wasmSimdSupported()) throw new ShapeError('WebAssembly SIMD128 with shared memory is not available in this runtime');
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new ShapeError(`threads must be an integer in [1, 64], got ${threads}`);
    this.maxBytesPerMemory = Math.min(options.maxBytesPerMemory ?? MAX_PAGES * PAGE_BYTES, MAX_PAGES * PAGE_BYTES);
    this.parallelMinWork = options.parallelMinWork ?? PARALLEL_MIN_WORK;
    if (!(this.parallelMinWork >= 0)) throw new ShapeError(`parallelMinWork must be a number ≥ 0, got ${this.parallelMinWork}`);
    this.pool = threads > 1 ? new MatvecPool(threads - 1) : undefined; // last: nothing throws after the worker starts
  }

  /** Threads each decode matvec runs on. */
  get threads(): number {
    return 1 + (this.pool?.helpers ?? 0);
  }

  /** Matvec slices handed to worker threads so far. */
  get workerJobs(): number {
    return this.pool?.jobsStarted ?? 0;
  }

  /** Stops the worker threads (the placed weights stay readable, single-threaded). */
  close(): void {
    this.pool?.close();
    for (const r of this.regions) r.parallel = undefined;
  }

  /** Total bytes reserved over all memories (f16 tables, scratch and weights). */
  get bytesUsed(): number {
    return this.regions.reduce((n, r) => n + r.bytesUsed, 0);
  }

  /** Number of WebAssembly memories in use. */
  get memoryCount(): number {
    return this.regions.length;
  }

  /**
   * Copies w's data into wasm memory once: f32 as is, Q8_0 / Q4_0 rearranged into row groups (the
   * layout their kernels read, quant/row-groups.ts), other formats as is (Q4_K / Q5_K / Q6_K rows are
   * what their kernels read; formats without a kernel run in TS).
   * @returns a matrix of the same format and shape whose data views the wasm memory (w is untouched)
   * @throws ShapeError when the memory is full, or for an Inf/NaN block scale in Q8_0 / Q4_0 or weight in F16
   */
  place<M extends WeightMatrix>(w: M): M {
    if (w.format !== 'f32' && w.layout === 'row-groups') {
      const target = this.allocate(w.data.byteLength, `${w.format} matrix [${w.rows}, ${w.cols}] in row groups`);
      target.set(w.data);
      return { ...w, data: target };
    }
    return { ...w, ...this.placeStored(storedInMemory(w)) };
  }

  /**
   * `place` for a matrix still in its file: the bytes are read straight into wasm memory (through a
   * 1 MiB staging area for the row-group formats), so no full copy of the tensor is ever made in
   * ordinary memory — loading a model costs its weights once, not plus garbage awaiting collection.
   * @throws ShapeError as `place` does, and whatever `stored.readBytes` throws
   */
  placeStored(stored: StoredMatrix): WeightMatrix {
    const { format, rows, cols } = stored;
    const what = `${format} matrix [${rows}, ${cols}]`;
    const bytes = storedMatrixBytes(format, rows, cols); // checks the shape before anything is allocated
    if (isRowGroupFormat(format)) {
      const target = this.allocate(rowGroupBytes(format, rows, cols), what);
      regionOf(target)!.toRowGroups(target, stored);
      return { format, rows, cols, data: target, layout: 'row-groups' };
    }
    const target = this.allocate(bytes, what);
    stored.readBytes(target, 0);
    if (format === 'f32') return { format, rows, cols, data: new Float32Array(target.buffer, target.byteOffset, rows * cols) };
    if (format === 'f16') regionOf(target)!.assertFiniteF16(target, what);
    return { format, rows, cols, data: target };
  }

  /**
   * Zeroed f32 memory in a wasm memory, for state the kernels read next to the weights (the KV cache:
   * attention runs in wasm on it, ../attention.ts). Pages untouched so far cost no resident memory.
   * @returns [floats] f32, or undefined when it would not fit in one memory
   */
  allocateF32(floats: number): Float32Array | undefined {
    const bytes = 4 * floats;
    if (bytes > this.maxBytesPerMemory - 2 * TABLE_BYTES) return undefined; // a fresh memory also holds the f16 table and scratch
    const area = this.allocate(bytes, `f32 state [${floats}]`);
    return new Float32Array(area.buffer, area.byteOffset, floats);
  }

  private allocate(bytes: number, what: string): Uint8Array {
    const last = this.regions.at(-1);
    const inLast = last?.allocate(bytes);
    if (inLast !== undefined) return inLast;
    const region = new WasmRegion(Math.floor(this.maxBytesPerMemory / PAGE_BYTES));
    const fresh = region.allocate(bytes);
    if (fresh === undefined) throw new ShapeError(`${what}: ${bytes} bytes do not fit in one WebAssembly memory (${this.maxBytesPerMemory} bytes)`);
    if (this.pool !== undefined) {
      this.pool.addMemory(region.memory);
      region.parallel = { pool: this.pool, index: this.regions.length, minWork: this.parallelMinWork };
    }
    this.regions.push(region);
    return fresh;
  }
}
