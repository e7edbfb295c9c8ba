/**
 * WeightSource: a checkpoint's tensors by Hugging Face name, read lazily (one tensor at a time), so a
 * model never holds two full copies of its weights. Implemented for safetensors folders here (single
 * file or sharded with `model.safetensors.index.json`) and for GGUF in weights/gguf*.ts.
 */
import { denseMatrix, matrixFromStored, type StoredMatrix, type WeightMatrix } from '@phi3/tensor';
import { existsSync, statSync } from 'node:fs';
import { join, normalize, isAbsolute } from 'node:path';
import { WeightsFormatError } from '../errors.ts';
import { readJsonFile } from '../json-file.ts';
import { SafetensorsFile, type SafetensorsEntry } from './safetensors.ts';

/** Name, shape and stored dtype of one tensor (dtype as the file names it: `F32`, `BF16`, `Q8_0`, …). */
export interface TensorInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** Lazily readable tensors of one checkpoint, addressed by HF tensor name. */
export interface WeightSource {
  /** Where the weights come from (path), for messages. */
  readonly description: string;
  /** All tensor names. */
  names(): string[];
  has(name: string): boolean;
  /** Shape and dtype without reading data. Throws WeightsFormatError when absent. */
  info(name: string): TensorInfo;
  /** Reads a tensor widened to f32 (a fresh array the caller owns). @returns [∏shape] f32 */
  getF32(name: string): Float32Array;
  /**
   * Reads a 2-D weight as a matrix for `linearInto`: [rows = out, cols = in]. Safetensors gives dense
   * f32; GGUF may keep quantized blocks. Throws WeightsFormatError when absent or not 2-D.
   */
  getMatrix(name: string): WeightMatrix;
  /**
   * A 2-D weight left in its file, for a caller that copies it to where its kernels read it
   * (weights/kernels.ts streams it into wasm memory, piece by piece): same format and shape as
   * getMatrix would give, and the same errors. undefined when the stored bytes need converting first
   * (BF16 safetensors widened to f32): the caller uses getMatrix. Absent: always getMatrix.
   */
  getStoredMatrix?(name: string): StoredMatrix | undefined;
  /** Releases file handles. */
  close(): void;
  /**
   * Memory next to the weights for state the same kernels read (the KV cache; see weights/kernels.ts):
   * [floats] f32 zeroed, or undefined when there is no room. Absent for ordinary sources.
   */
  allocateF32?(floats: number): Float32Array | undefined;
}

/**
 * Reads `name` and checks its shape, naming the tensor and source on mismatch.
 * @returns [∏shape] f32
 */
export function readTensor(src: WeightSource, name: string, shape: readonly number[]): Float32Array {
  assertTensorShape(src, name, shape);
  return src.getF32(name);
}

/** Reads a 2-D weight [rows, cols] as a matrix after checking its shape. */
export function readMatrix(src: WeightSource, name: string, rows: number, cols: number): WeightMatrix {
  assertTensorShape(src, name, [rows, cols]);
  return src.getMatrix(name);
}

/** Throws WeightsFormatError unless tensor `name` exists with exactly `shape`. */
export function assertTensorShape(src: WeightSource, name: string, shape: readonly number[]): void {
  const actual = src.info(name).shape;
  if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
    throw new WeightsFormatError(`${src.description}: tensor "${name}" has shape [${actual.join(', ')}], expected [${shape.join(', ')}]`);
  }
}

/**
 * Wraps `source` so `onRead(reads, total)` runs after every tensor read (a progress bar while a
 * model is wired); `total` is the number of tensors in the checkpoint.
 */
export function reportReads(source: WeightSource, onRead: (reads: number, total: number) => void): WeightSource {
  const total = source.names().length;
  let reads = 0;
  const tick = (): void => onRead(++reads, total);
  return {
    description: source.description,
    names: () => source.names(),
    has: (name) => source.has(name),
    info: (name) => source.info(name),
    getF32: (name) => { const t = source.getF32(name); tick(); return t; },
    getMatrix: (name) => { const m = source.getMatrix(name); tick(); return m; },
    getStoredMatrix: (name) => {
      const stored = source.getStoredMatrix?.(name);
      if (stored !== undefined) tick(); // read by the caller right away
      return stored;
    },
    close: () => source.close(),
  };
}

/** How safetensors weights are held in memory. */
export interface SafetensorsOptions {
  /**
   * Keep BF16/F16 matrices in their stored 16-bit form (half the memory of f32; each element is widened
   * exactly when multiplied, so results match up to summation order, but matmuls are slower).
   * Default false: matrices are widened to dense f32 once at load.
   */
  readonly keepHalfPrecision?: boolean;
}

/** Safetensors checkpoint: one file, or shards listed by an index's `weight_map`. */
export class SafetensorsSource implements WeightSource {
  private readonly byName = new Map<string, { file: SafetensorsFile; entry: SafetensorsEntry }>();

  constructor(
    readonly description: string,
    private readonly files: readonly SafetensorsFile[],
    private readonly options: SafetensorsOptions = {},
  ) {
    for (const file of files) {
      for (const entry of file.entries.values()) {
        if (this.byName.has(entry.name)) {
          this.close();
          throw new WeightsFormatError(`${description}: tensor "${entry.name}" appears in more than one shard`);
        }
        this.byName.set(entry.name, { file, entry });
      }
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.lookup(name).entry;
    return { name, shape: e.shape, dtype: e.dtype };
  }

  getF32(name: string): Float32Array {
    return this.lookup(name).file.readF32(name);
  }

  getMatrix(name: string): WeightMatrix {
    const stored = this.getStoredMatrix(name);
    if (stored !== undefined) return matrixFromStored(stored);
    const [rows, cols] = this.matrixShape(name);
    return denseMatrix(this.getF32(name), rows, cols); // BF16 / F16 widened to f32
  }

  /** F32 tensors, and BF16 / F16 ones with `keepHalfPrecision`, as stored; undefined for those widened to f32. */
  getStoredMatrix(name: string): StoredMatrix | undefined {
    const { file, entry } = this.lookup(name);
    const [rows, cols] = this.matrixShape(name);
    const format = this.storedFormat(entry);
    if (format === undefined) return undefined;
    return { format, rows, cols, readBytes: (into, offset) => file.readRawInto(name, into, offset) };
  }

  close(): void {
    for (const f of this.files) f.close();
  }

  /** [rows, cols] of a 2-D tensor (WeightsFormatError otherwise). */
  private matrixShape(name: string): [number, number] {
    const { shape } = this.lookup(name).entry;
    if (shape.length !== 2) throw new WeightsFormatError(`${this.description}: tensor "${name}" is not 2-D (shape [${shape.join(', ')}])`);
    return [shape[0], shape[1]];
  }

  /** The matrix format a tensor is multiplied in without converting it; undefined when it is widened to f32 at load. */
  private storedFormat(entry: SafetensorsEntry): 'f32' | 'f16' | 'bf16' | undefined {
    if (entry.dtype === 'F32') return 'f32';
    if (!this.options.keepHalfPrecision) return undefined;
    return entry.dtype === 'BF16' ? 'bf16' : entry.dtype === 'F16' ? 'f16' : undefined;
  }

  private lookup(name: string): { file: SafetensorsFile; entry: SafetensorsEntry } {
    const hit = this.byName.get(name);
    if (hit === undefined) throw new WeightsFormatError(`${this.description}: missing tensor "${name}"`);
    return hit;
  }
}

/**
 * Opens the safetensors weights of a HF model folder: `model.safetensors.index.json` (sharded) if
 * present, else `model.safetensors`. Every shard header is validated up front; data stays on disk.
 */
export function openSafetensorsFolder(dir: string, options: SafetensorsOptions = {}): SafetensorsSource {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) return openShardedIndex(dir, indexPath, options);
  const single = join(dir, 'model.safetensors');
  if (!existsSync(single)) throw new WeightsFormatError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  return new SafetensorsSource(single, [new SafetensorsFile(single)], options);
}

function openShardedIndex(dir: string, indexPath: string, options: SafetensorsOptions): SafetensorsSource {
  const fail = (msg: string): never => {
    throw new WeightsFormatError(`${indexPath}: ${msg}`);
  };
  if (statSync(indexPath).size > 64 * 1024 * 1024) fail('index file is implausibly large');
  const index = readJsonFile(indexPath, WeightsFormatError);
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) fail('weight_map must be an object');
  const shardNames = new Set<string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || normalize(shard).startsWith('..')) {
      fail(`weight_map["${name}"] is not a file name inside the model folder`);
    }
    shardNames.add(shard as string);
  }
  const files: SafetensorsFile[] = [];
  try {
    for (const shard of shardNames) files.push(new SafetensorsFile(join(dir, shard)));
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
  const source = new SafetensorsSource(indexPath, files, options);
  for (const [name, shard] of Object.entries(map as Record<string, string>)) {
    const hit = files.find((f) => f.path === join(dir, shard));
    if (hit === undefined || !hit.entries.has(name)) {
      source.close();
      fail(`weight_map says "${name}" is in ${shard}, but that shard has no such tensor`);
    }
  }
  return source;
}

/**
 * Tensors already in memory (tests, random-weight benchmarks). Shapes are checked against data length.
 */
export class InMemorySource implements WeightSource {
  private readonly tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();

  /** @param tensors name → [shape, data ∏shape f32] */
  constructor(tensors: Iterable<[string, readonly number[], Float32Array]>, readonly description = 'in-memory weights') {
    for (const [name, shape, data] of tensors) {
      if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new WeightsFormatError(`${description}: tensor "${name}" data does not match shape [${shape.join(', ')}]`);
      this.tensors.set(name, { shape, data });
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    return { name, shape: this.lookup(name).shape, dtype: 'F32' };
  }

  getF32(name: string): Float32Array {
    return this.lookup(name).data.slice();
  }

  getMatrix(name: string): WeightMatrix {
    const { shape } = this.lookup(name);
    if (shape.length !== 2) throw new WeightsFormatError(`${this.description}: tensor "${name}" is not 2-D`);
    return denseMatrix(this.getF32(name), shape[0], shape[1]);
  }

  close(): void {}

  private lookup(name: string): { shape: readonly number[]; data: Float32Array } {
    const hit = this.tensors.get(name);
    if (hit === undefined) throw new WeightsFormatError(`${this.description}: missing tensor "${name}"`);
    return hit;
  }
}
