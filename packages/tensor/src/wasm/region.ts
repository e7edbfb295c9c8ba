// One weight memory: a shared WebAssembly.Memory holding the f16 table, an activation scratch area
// and weight matrices placed once, with its own instance of the kernels. Memory plan:
//
//   [0, 256 KiB)            f16 → f32 table (65536 f32), filled by dtype.ts f16ToF32
//   [256 KiB, …)            weights and scratch areas, bump-allocated at 64-byte alignment, never freed
//                           (they live as long as the model that placed them)
//
// The memory is shared (SharedArrayBuffer-backed), so growing it never detaches the typed-array views
// that matrices hold, and worker threads can read the same bytes without copies.
import { f16ToF32 } from '../dtype.ts';
import { ShapeError } from '../errors.ts';
import {
  assertFiniteScales, codeBytes, groupBlockBytes, isRowGroupFormat, paddedRows, ROW_GROUP, toRowGroupsInto,
} from '../quant/row-groups.ts';
import type { StoredMatrix } from '../matrix.ts';
import type { MatvecPool } from '../parallel/pool.ts';
import { instantiateKernels, PAGE_BYTES, type KernelExports } from './kernels.ts';
import { F16_TABLE_OFFSET } from './kernels/snippets.ts';

export const TABLE_BYTES = 65536 * 4; // at F16_TABLE_OFFSET = 0, where the kernels read it
const ALIGN = 64;
/** n rounded up to ALIGN (allocations start aligned; offsets inside them keep each array aligned too). */
const aligned = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
/** Bytes of GGUF rows toRowGroups stages at a time (whole groups; at least one group however long the rows). */
const STAGING_BYTES = 1 << 20;

/** Byte offsets of the activation scratch for T token rows through a [rows, cols] matrix. */
export interface Scratch {
  readonly x: number; // [T, cols] f32
  readonly xq: number; // [T, cols] i16 activation codes
  readonly xs: number; // [T, cols / 32] (f32 scale, i32 8·Σ codes) pairs
  readonly y: number; // [T, paddedRows(rows)] f32
}

/** Buffers of all regions, so a matrix's region is found from its data's buffer. */
const regionOfBuffer = new WeakMap<ArrayBufferLike, WasmRegion>();

/** The region whose memory holds `bytes`, or undefined for ordinary JS arrays. */
export function regionOf(bytes: ArrayBufferView): WasmRegion | undefined {
  return regionOfBuffer.get(bytes.buffer);
}

export class WasmRegion {
  readonly memory: WebAssembly.Memory;
  readonly kernels: KernelExports;
  /** Worker threads that share this memory, its index in their kernel-instance list, and the smallest call split over them (threads.ts). */
  parallel: { readonly pool: MatvecPool; readonly index: number; readonly minWork: number } | undefined;
  private top = TABLE_BYTES;
  /** Scratch areas by purpose (byte offset, size), reused across calls: see `scratchArea`. */
  private readonly areas = new Map<string, { offset: number; bytes: number }>();
  private buffer!: SharedArrayBuffer; // the memory's buffer as of the last grow (registered in regionOfBuffer)
  private f32View!: Float32Array;

  /** @param maxPages the most this memory may grow to (≤ MAX_PAGES) */
  constructor(readonly maxPages: number) {
    this.memory = new WebAssembly.Memory({ initial: TABLE_BYTES / PAGE_BYTES, maximum: maxPages, shared: true });
    this.kernels = instantiateKernels(this.memory);
    this.refreshViews();
    for (let h = 0; h < 65536; h++) this.f32View[F16_TABLE_OFFSET / 4 + h] = f16ToF32(h);
  }

  /** Threads that may run a slice of one kernel call in this memory: the calling one and the workers. */
  get threads(): number {
    return 1 + (this.parallel?.pool.helpers ?? 0);
  }

  /** Bytes in use (table, scratch and weights). */
  get bytesUsed(): number {
    return this.top;
  }

  /**
   * Reserves `bytes` (64-byte aligned), growing the memory; undefined when it would exceed maxPages.
   * @returns a byte view of the reserved range
   */
  allocate(bytes: number): Uint8Array | undefined {
    const offset = aligned(this.top);
    const end = offset + bytes;
    if (end > this.maxPages * PAGE_BYTES) return undefined;
    const have = this.buffer.byteLength;
    if (end > have) {
      this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
      this.refreshViews();
    }
    this.top = end;
    return new Uint8Array(this.buffer, offset, bytes);
  }

  /** The current f32 view of the whole memory (views made before a grow keep their old length). */
  get f32(): Float32Array {
    return this.f32View;
  }

  /**
   * Byte offset of at least `bytes` of scratch for `purpose`, reused across calls. A larger request
   * takes a fresh area of at least twice the size (the old one is left behind: the memory is never
   * freed), so growing requests allocate O(log n) times. Undefined when the memory is full.
   */
  private scratchArea(purpose: string, bytes: number): number | undefined {
    const a = this.areas.get(purpose);
    if (a !== undefined && a.bytes >= bytes) return a.offset;
    const size = Math.max(bytes, 2 * (a?.bytes ?? 0));
    const area = this.allocate(size);
    if (area === undefined) return undefined;
    this.areas.set(purpose, { offset: area.byteOffset, bytes: size });
    return area.byteOffset;
  }

  /**
   * Scratch for `tokens` token rows through a [rows, cols] matrix (rows rounded up to whole row
   * groups), reused across calls. Undefined if the memory is full.
   */
  scratchFor(rows: number, cols: number, tokens = 1): Scratch | undefined {
    const c = Math.ceil(cols / 32) * 32;
    const xq = aligned(tokens * c * 4);
    const xs = aligned(xq + tokens * c * 2);
    const y = aligned(xs + tokens * (c / 32) * 8);
    const base = this.scratchArea('linear', y + tokens * paddedRows(rows) * 4);
    return base === undefined ? undefined : { x: base, xq: base + xq, xs: base + xs, y: base + y };
  }

  /**
   * Throws ShapeError when an f16 matrix placed in this memory holds an Inf or NaN: f16_matmul's
   * integer widening would turn them into finite values (a corrupt file must not give silent numbers).
   * @param f16 the placed bytes (2 per element)
   */
  assertFiniteF16(f16: Uint8Array, what: string): void {
    const flag = this.scratchArea('flag', 4);
    const count = f16.byteLength / 2;
    const vectorCount = count - (count % 8);
    let bad = false;
    if (flag !== undefined && vectorCount > 0) {
      this.kernels.f16_check(f16.byteOffset, vectorCount, flag);
      bad = this.flagSet(flag);
    }
    for (let i = flag === undefined ? 0 : vectorCount; i < count && !bad; i++) bad = (f16[2 * i + 1] & 0x7c) === 0x7c;
    if (bad) throw new ShapeError(`${what}: holds Inf or NaN weights`);
  }

  /**
   * Byte offset of `floats` f32 of scratch for elementwise kernels (swiglu), reused, grown (by a
   * fresh area, doubling) on demand. Undefined when the memory is full.
   */
  floatScratch(floats: number): number | undefined {
    return this.scratchArea('floats', 4 * floats);
  }

  /**
   * Byte offsets of the prefill tiles' activations interleaved by token quads (kernels/interleave.ts):
   * codes (int16 at most) and (scale, sum) pairs of `tokens` tokens (a multiple of 4) of `cols`
   * columns; reused, grown on demand. Undefined when the memory is full.
   */
  quadScratch(tokens: number, cols: number): { xq: number; xs: number } | undefined {
    const c = Math.ceil(cols / 32) * 32;
    const xs = aligned(tokens * c * 2);
    const base = this.scratchArea('quads', xs + tokens * (c / 32) * 8);
    return base === undefined ? undefined : { xq: base, xs: base + xs };
  }

  /**
   * Per-thread prefill panels (kernels/quant-tiles.ts): `threads` areas of `bytesPerThread`, reused,
   * grown (by a fresh area) on demand. Undefined when the memory is full.
   */
  panelScratch(bytesPerThread: number, threads: number): { base: number; bytesPerThread: number } | undefined {
    const per = aligned(bytesPerThread);
    const base = this.scratchArea('panels', per * threads);
    return base === undefined ? undefined : { base, bytesPerThread: per };
  }

  /**
   * Byte offsets of attention scratch (kernels/attention.ts): the kernel's argument block (`argInts`
   * i32), q and out [floats] f32 each, and `threads` per-thread score rows of `scoreFloats` f32;
   * reused, grown (by a fresh area) on demand. Undefined when the memory is full.
   */
  attentionScratch(argInts: number, floats: number, scoreFloats: number, threads: number):
    { args: number; q: number; out: number; scores: number; scoreBytesPerThread: number } | undefined {
    const q = aligned(4 * argInts);
    const out = aligned(q + 4 * floats);
    const scores = aligned(out + 4 * floats);
    const perThread = aligned(4 * scoreFloats);
    const base = this.scratchArea('attention', scores + threads * perThread);
    return base === undefined ? undefined : { args: base, q: base + q, out: base + out, scores: base + scores, scoreBytesPerThread: perThread };
  }

  /**
   * Rearranges a Q8_0/Q4_0 matrix's GGUF rows into row groups at `target` (a range of this memory, sized
   * by rowGroupBytes) with the wasm kernel: STAGING_BYTES of rows at a time are read into a staging area,
   * then moved block by block, so the GGUF bytes never exist whole outside their file. Falls back to the
   * TypeScript toRowGroupsInto (reading the rows whole) when the memory has no room for the staging area.
   * @param stored a Q8_0 or Q4_0 matrix
   * @throws ShapeError for an Inf/NaN block scale
   */
  toRowGroups(target: Uint8Array, stored: StoredMatrix): void {
    const { format, rows, cols } = stored;
    if (!isRowGroupFormat(format)) throw new ShapeError(`${format} matrices are not stored in row groups`);
    const blocks = cols / 32;
    const rowBytes = blocks * (2 + codeBytes(format));
    const stageRows = Math.max(ROW_GROUP, Math.floor(STAGING_BYTES / rowBytes / ROW_GROUP) * ROW_GROUP);
    const stage = this.scratchArea('staging', STAGING_BYTES);
    const flag = this.scratchArea('flag', 4); // the kernel's Inf/NaN flag
    if (stage === undefined || flag === undefined || stageRows * rowBytes > STAGING_BYTES) {
      const gguf = new Uint8Array(rows * rowBytes);
      stored.readBytes(gguf, 0);
      toRowGroupsInto(target, gguf, format, rows, cols);
      return;
    }
    const bytes = new Uint8Array(this.buffer);
    const convert = format === 'q8_0' ? this.kernels.q8_0_to_row_groups : this.kernels.q4_0_to_row_groups;
    for (let r0 = 0; r0 < rows; r0 += stageRows) {
      const n = Math.min(stageRows, rows - r0);
      const padded = paddedRows(n);
      const staged = bytes.subarray(stage, stage + n * rowBytes);
      stored.readBytes(staged, r0 * rowBytes);
      bytes.fill(0, stage + n * rowBytes, stage + padded * rowBytes); // zero rows pad the last group
      convert(stage, target.byteOffset + (r0 / ROW_GROUP) * blocks * groupBlockBytes(format), padded / ROW_GROUP, blocks, flag);
      if (this.flagSet(flag)) assertFiniteScales(staged, format, rows, cols, r0); // throws, naming the block
    }
  }

  /** True when the i32 a check kernel stored at byte offset `flag` is non-zero. */
  private flagSet(flag: number): boolean {
    return new Int32Array(this.buffer, flag, 1)[0] !== 0;
  }

  private refreshViews(): void {
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    regionOfBuffer.set(this.buffer, this);
    this.f32View = new Float32Array(this.buffer);
  }
}
