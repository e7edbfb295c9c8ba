/**
 * GGUF v3 writer: the exact inverse of gguf.ts. Used by `phi3 convert` (streaming tensors to disk
 * one at a time, so multi-GB models never sit in memory twice) and by tests (in memory).
 */
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { InvalidArgumentError, Phi3Error, WeightsFormatError } from '../errors.ts';
import { GGML_TYPES, GgufValueType, type GgufValue } from './gguf-types.ts';

/** A metadata value with its GGUF type (the writer cannot guess u32 vs i32 vs f32 from a number). */
export type GgufTypedValue =
  | { readonly type: Exclude<GgufValueType, typeof GgufValueType.ARRAY>; readonly value: GgufValue }
  | { readonly type: typeof GgufValueType.ARRAY; readonly elementType: GgufValueType; readonly value: GgufValue[] | ArrayLike<unknown> };

/** Typed-value constructors: `kv.u32(4096)`, `kv.str('phi3')`, `kv.f32Array(scores)`. */
export const kv = {
  u32: (value: number): GgufTypedValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufTypedValue => ({ type: GgufValueType.INT32, value }),
  u64: (value: bigint): GgufTypedValue => ({ type: GgufValueType.UINT64, value }),
  f32: (value: number): GgufTypedValue => ({ type: GgufValueType.FLOAT32, value }),
  f64: (value: number): GgufTypedValue => ({ type: GgufValueType.FLOAT64, value }),
  bool: (value: boolean): GgufTypedValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufTypedValue => ({ type: GgufValueType.STRING, value }),
  strArray: (value: readonly string[]): GgufTypedValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: value as string[] }),
  f32Array: (value: ArrayLike<number>): GgufTypedValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32, value }),
  i32Array: (value: ArrayLike<number>): GgufTypedValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value }),
};

/** A tensor to write: ggml dims innermost first (`ne[0]` = columns) and its bytes, made on demand. */
export interface GgufTensorToWrite {
  readonly name: string;
  readonly ne: readonly number[];
  readonly type: number;
  /** Called once, when the tensor is written; must return exactly `ggufTensorBytes(ne, type)` bytes. */
  readonly data: () => Uint8Array;
}

const DEFAULT_ALIGNMENT = 32;
const utf8 = new TextEncoder();

/** Byte length of a tensor of dims `ne` and ggml type `type`. @throws InvalidArgumentError */
export function ggufTensorBytes(ne: readonly number[], type: number): number {
  const info = GGML_TYPES.get(type);
  if (!info) throw new InvalidArgumentError(`unknown ggml type ${type}`);
  if (ne[0] % info.blockSize !== 0) {
    throw new InvalidArgumentError(`row length ${ne[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  return (ne.reduce((a, b) => a * b, 1) / info.blockSize) * info.typeSize;
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  /** Reserves n bytes and returns a view positioned on them (reserve may replace the buffer). */
  private at(n: number): [DataView, number] {
    const o = this.reserve(n);
    return [this.view, o];
  }
  u8(v: number) { const [d, o] = this.at(1); d.setUint8(o, v); }
  i8(v: number) { const [d, o] = this.at(1); d.setInt8(o, v); }
  u16(v: number) { const [d, o] = this.at(2); d.setUint16(o, v, true); }
  i16(v: number) { const [d, o] = this.at(2); d.setInt16(o, v, true); }
  u32(v: number) { const [d, o] = this.at(4); d.setUint32(o, v, true); }
  i32(v: number) { const [d, o] = this.at(4); d.setInt32(o, v, true); }
  f32(v: number) { const [d, o] = this.at(4); d.setFloat32(o, v, true); }
  f64(v: number) { const [d, o] = this.at(8); d.setFloat64(o, v, true); }
  u64(v: bigint | number) { const [d, o] = this.at(8); d.setBigUint64(o, BigInt(v), true); }
  i64(v: bigint | number) { const [d, o] = this.at(8); d.setBigInt64(o, BigInt(v), true); }
  bytes(b: Uint8Array) {
    const o = this.reserve(b.length);
    this.buf.set(b, o);
  }
  string(s: string) {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number) { this.reserve((alignment - (this.length % alignment)) % alignment); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

function writeScalar(out: ByteSink, type: GgufValueType, value: unknown): void {
  switch (type) {
    case GgufValueType.UINT8: return out.u8(value as number);
    case GgufValueType.INT8: return out.i8(value as number);
    case GgufValueType.UINT16: return out.u16(value as number);
    case GgufValueType.INT16: return out.i16(value as number);
    case GgufValueType.UINT32: return out.u32(value as number);
    case GgufValueType.INT32: return out.i32(value as number);
    case GgufValueType.FLOAT32: return out.f32(value as number);
    case GgufValueType.FLOAT64: return out.f64(value as number);
    case GgufValueType.UINT64: return out.u64(value as bigint);
    case GgufValueType.INT64: return out.i64(value as bigint);
    case GgufValueType.BOOL: return out.u8(value ? 1 : 0);
    case GgufValueType.STRING: return out.string(value as string);
    default: throw new InvalidArgumentError(`cannot write a GGUF scalar of type ${type}`);
  }
}

function writeValue(out: ByteSink, v: GgufTypedValue): void {
  if (v.type !== GgufValueType.ARRAY) return writeScalar(out, v.type, v.value);
  out.u32(v.elementType);
  const items = v.value as ArrayLike<unknown>;
  out.u64(items.length);
  for (let i = 0; i < items.length; i++) {
    // Nested arrays are given as typed values themselves.
    if (v.elementType === GgufValueType.ARRAY) writeValue(out, items[i] as GgufTypedValue);
    else writeScalar(out, v.elementType, items[i]);
  }
}

/** Plans tensor offsets (each aligned) and encodes everything before the tensor data. */
function encodeHeader(
  metadata: ReadonlyMap<string, GgufTypedValue>,
  tensors: readonly GgufTensorToWrite[],
  alignment: number,
): { header: Uint8Array; offsets: number[]; sizes: number[]; dataBytes: number } {
  const out = new ByteSink();
  out.bytes(utf8.encode('GGUF'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.size + (alignment === DEFAULT_ALIGNMENT || metadata.has('general.alignment') ? 0 : 1));
  for (const [key, value] of metadata) {
    out.string(key);
    out.u32(value.type);
    writeValue(out, value);
  }
  if (alignment !== DEFAULT_ALIGNMENT && !metadata.has('general.alignment')) {
    out.string('general.alignment');
    out.u32(GgufValueType.UINT32);
    out.u32(alignment);
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let next = 0;
  for (const t of tensors) {
    const size = ggufTensorBytes(t.ne, t.type);
    out.string(t.name);
    out.u32(t.ne.length);
    for (const d of t.ne) out.u64(d);
    out.u32(t.type);
    out.u64(next);
    offsets.push(next);
    sizes.push(size);
    next += Math.ceil(size / alignment) * alignment;
  }
  out.padTo(alignment);
  // Like ggml's gguf writer, every tensor (the last one too) is padded to the alignment.
  return { header: out.result(), offsets, sizes, dataBytes: next };
}

function checkedData(t: GgufTensorToWrite, size: number): Uint8Array {
  const data = t.data();
  if (data.length !== size) {
    throw new InvalidArgumentError(`tensor "${t.name}": got ${data.length} bytes, its dims and type need ${size}`);
  }
  return data;
}

/**
 * Encodes a complete GGUF v3 file in memory (tests and small models).
 * @param metadata key → typed value, written in insertion order
 * @param tensors  written in order, each at an offset aligned to `alignment`
 */
export function encodeGguf(
  metadata: ReadonlyMap<string, GgufTypedValue>,
  tensors: readonly GgufTensorToWrite[],
  alignment = DEFAULT_ALIGNMENT,
): Uint8Array {
  const { header, offsets, sizes, dataBytes } = encodeHeader(metadata, tensors, alignment);
  const file = new Uint8Array(header.length + dataBytes);
  file.set(header);
  tensors.forEach((t, i) => file.set(checkedData(t, sizes[i]), header.length + offsets[i]));
  return file;
}

/**
 * Writes a GGUF v3 file, producing and writing one tensor at a time.
 * @param onTensor called after each tensor is written (progress reporting)
 */
export function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufTypedValue>,
  tensors: readonly GgufTensorToWrite[],
  alignment = DEFAULT_ALIGNMENT,
  onTensor?: (index: number, name: string) => void,
): void {
  const { header, offsets, sizes, dataBytes } = encodeHeader(metadata, tensors, alignment);
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new WeightsFormatError(`cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    writeSync(fd, header, 0, header.length, 0);
    tensors.forEach((t, i) => {
      const data = checkedData(t, sizes[i]);
      writeSync(fd, data, 0, data.length, header.length + offsets[i]);
      onTensor?.(i, t.name);
    });
    ftruncateSync(fd, header.length + dataBytes); // the padding after the last tensor
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true }); // never leave a truncated GGUF behind
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof Error && !(err instanceof Phi3Error) && code !== undefined) throw new WeightsFormatError(`cannot write ${path}: ${code}`); // e.g. ENOSPC
    throw err;
  }
}
