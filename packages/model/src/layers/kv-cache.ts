/**
 * Per-layer key/value cache for incremental decoding (llama2.c `RunState.key_cache`).
 *
 * Layer l holds K and V as [S, Hkv * Dh] f32 rows, one row per absolute position. Keys are stored
 * already rotated (RoPE is applied before caching, as in HF `Phi3Attention.forward`). Buffers are
 * allocated once for `initialTokens` positions and grow geometrically (copy on grow, rare) up to
 * `maxTokens`; a decode step inside the allocation allocates nothing. With `allocate` (the wasm
 * kernels' memory, where attention then runs in SIMD), each layer gets all `maxTokens` rows at once —
 * reserved, not resident, until written — so the cache never moves.
 *
 * Protocol for one forward of T new tokens: every layer calls `write(l, k, v)` for positions
 * [length, length + T) and then attends over `length + T` rows; the caller calls `commit(T)` once all
 * layers are done.
 */
import { ContextLengthError } from '../errors.ts';

/**
 * Largest cache reserved in the kernels' memory (all layers, K and V). phi-3-mini at 4k positions takes
 * 3.2 GB (reserved, resident only as positions fill); a 128k context would reserve 100 GB, so such
 * caches stay ordinary, growing arrays (and attention runs in TypeScript).
 */
const MAX_PLACED_BYTES = 8 * 1024 ** 3;

export class KvCache {
  /** Positions already committed (= absolute position of the next token). */
  length = 0;
  private capacity: number;
  private readonly keys: Float32Array[] = [];
  private readonly values: Float32Array[] = [];

  /**
   * @param nLayers   L
   * @param kvDim     Hkv * Dh floats per cached row
   * @param maxTokens hard limit on cached positions (usually the model's context length)
   * @param initialTokens positions allocated up front (default min(maxTokens, 256))
   * @param allocate where layer buffers live: [floats] f32 zeroed, or undefined when it has no room
   *   (then every layer uses ordinary arrays, as they do for caches above MAX_PLACED_BYTES)
   */
  constructor(
    readonly nLayers: number,
    readonly kvDim: number,
    readonly maxTokens: number,
    initialTokens = Math.min(maxTokens, 256),
    allocate?: (floats: number) => Float32Array | undefined,
  ) {
    const rows = maxTokens * kvDim;
    const fits = 2 * rows * 4 * nLayers <= MAX_PLACED_BYTES;
    const placed = allocate === undefined || !fits ? [] : Array.from({ length: nLayers }, () => allocate(2 * rows));
    if (placed.length > 0 && placed.every((a) => a !== undefined)) {
      this.capacity = maxTokens;
      for (const a of placed) {
        this.keys.push(a!.subarray(0, rows));
        this.values.push(a!.subarray(rows, 2 * rows));
      }
      return;
    }
    this.capacity = Math.max(1, Math.min(initialTokens, maxTokens));
    for (let l = 0; l < nLayers; l++) {
      this.keys.push(new Float32Array(this.capacity * kvDim));
      this.values.push(new Float32Array(this.capacity * kvDim));
    }
  }

  /**
   * Stores the rows of T new positions [length, length + T) of layer l (not committed yet).
   * @param k [T, Hkv * Dh] f32, already rotated
   * @param v [T, Hkv * Dh] f32
   */
  write(l: number, k: Float32Array, v: Float32Array): void {
    const T = k.length / this.kvDim;
    this.reserve(this.length + T);
    this.keys[l].set(k, this.length * this.kvDim); // cache[l][t] is [Hkv * Dh]
    this.values[l].set(v, this.length * this.kvDim);
  }

  /** Keys of layer l: [capacity, Hkv * Dh] f32; rows [0, length + T) are valid during a forward. */
  keysOf(l: number): Float32Array {
    return this.keys[l];
  }

  /** Values of layer l: [capacity, Hkv * Dh] f32. */
  valuesOf(l: number): Float32Array {
    return this.values[l];
  }

  /** Marks T written positions as part of the sequence. */
  commit(T: number): void {
    this.length += T;
  }

  /** Forgets positions >= n (e.g. to rebuild or to reuse a common prompt prefix). */
  truncate(n: number): void {
    this.length = Math.min(this.length, Math.max(0, n));
  }

  /** Makes room for `total` positions; throws ContextLengthError past maxTokens. */
  reserve(total: number): void {
    if (total > this.maxTokens) {
      throw new ContextLengthError(`sequence of ${total} tokens exceeds the context length of ${this.maxTokens}`);
    }
    if (total <= this.capacity) return;
    const next = Math.min(this.maxTokens, Math.max(total, this.capacity * 2));
    for (let l = 0; l < this.nLayers; l++) {
      this.keys[l] = grow(this.keys[l], next * this.kvDim);
      this.values[l] = grow(this.values[l], next * this.kvDim);
    }
    this.capacity = next;
  }
}

function grow(a: Float32Array, size: number): Float32Array {
  const b = new Float32Array(size);
  b.set(a);
  return b;
}
