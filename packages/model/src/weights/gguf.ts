/**
 * GGUF header reader (versions 2 and 3): metadata key/values, tensor infos, alignment and the
 * start of the tensor data. Layout, from ggml's `docs/gguf.md` and `gguf.cpp`:
 *
 *   magic "GGUF" · u32 version · u64 tensor_count · u64 kv_count
 *   kv_count × (string key · u32 value_type · value)
 *   tensor_count × (string name · u32 n_dims · n_dims × u64 ne · u32 ggml_type · u64 offset)
 *   padding to `general.alignment` (default 32) · tensor data (offsets are relative to here)
 *
 * Strings are u64 length + UTF-8; arrays are u32 element type + u64 count + elements. Everything is
 * little-endian. Every count, length, dimension and offset is checked against the file size before
 * it is used, so a truncated or hostile file is a `WeightsFormatError`, never a hang or a huge
 * allocation.
 */
import { ConfigError } from '../errors.ts';
import { fileByteSource, GgufCursor, memoryByteSource, type ByteSource } from './gguf-cursor.ts';
import {
  GGML_TYPES,
  GGUF_SCALAR_BYTES,
  GgufValueType,
  ggmlTypeName,
  type GgufArray,
  type GgufValue,
} from './gguf-types.ts';

export type { GgufValue, GgufArray } from './gguf-types.ts';

/** One tensor's entry in the header. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml dimensions, innermost first: `ne[0]` is the row length (columns). */
  readonly ne: readonly number[];
  /** The same dimensions outermost first, as PyTorch/safetensors write them: `[rows, cols]`. */
  readonly shape: readonly number[];
  /** ggml type id (see `GGML_TYPES`) and its name, e.g. 12 / 'Q4_K'. */
  readonly type: number;
  readonly typeName: string;
  readonly nElements: number;
  /** Absolute byte offset of the tensor's data in the file, and its length in bytes. */
  readonly offset: number;
  readonly byteLength: number;
}

/** Everything in a GGUF file before the tensor data. */
export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  /** `general.alignment` or the default 32. */
  readonly alignment: number;
  /** Absolute offset where tensor data begins (tensor offsets in the file are relative to it). */
  readonly dataOffset: number;
  readonly fileSize: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Arrays of arrays deeper than this are rejected (no real file nests at all; bounds recursion). */
const MAX_ARRAY_DEPTH = 8;
/** Smallest encodings: a kv is key length + type + 1-byte value; a tensor info has ≥ 1 dim. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

/**
 * Reads the header (metadata + tensor infos) of a GGUF file without loading the tensor data.
 * @param path a `.gguf` file
 * @throws WeightsFormatError for anything that is not a well-formed GGUF v2/v3 file
 */
export function readGgufMetadata(path: string): GgufHeader {
  const source = fileByteSource(path);
  try {
    return parseGgufHeader(source, path);
  } finally {
    source.close();
  }
}

/**
 * Parses a GGUF header from any byte source (a file, or bytes in memory).
 * @param source the whole file (its `size` is used to validate every offset)
 * @param label  file name used in error messages
 */
export function parseGgufHeader(source: ByteSource | Uint8Array, label = 'GGUF'): GgufHeader {
  const src = source instanceof Uint8Array ? memoryByteSource(source) : source;
  const c = new GgufCursor(src, label);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) c.fail('not a GGUF file (bad magic)');
  const version = c.u32('version');
  if (version === 0x03000000 || version === 0x02000000) c.fail('big-endian GGUF files are not supported');
  if (version === 1) c.fail('GGUF version 1 is obsolete; re-convert the file with a recent llama.cpp');
  if (version !== 2 && version !== 3) c.fail(`unsupported GGUF version ${version}`);
  const tensorCount = c.count('tensor count', MIN_TENSOR_INFO_BYTES);
  const kvCount = c.count('metadata count', MIN_KV_BYTES);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`duplicate metadata key "${key}"`);
    const type = c.u32(`type of "${key}"`);
    metadata.set(key, readValue(c, type, key, 0));
  }

  const alignment = readAlignment(c, metadata);
  const infos: Array<Omit<GgufTensorInfo, 'offset'> & { relOffset: bigint }> = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor name #${i}`);
    if (names.has(name)) c.fail(`duplicate tensor "${name}"`);
    names.add(name);
    infos.push(readTensorInfo(c, name));
  }
  c.alignTo(alignment);
  const dataOffset = c.pos;
  if (dataOffset > c.size && tensorCount > 0) c.fail('truncated file: tensor data is missing');

  const tensors = infos.map(({ relOffset, ...info }) => {
    const where = `tensor "${info.name}"`;
    if (relOffset % BigInt(alignment) !== 0n) c.fail(`${where} offset ${relOffset} is not a multiple of ${alignment}`);
    const end = BigInt(dataOffset) + relOffset + BigInt(info.byteLength);
    if (end > BigInt(c.size)) {
      c.fail(`${where} data [${relOffset} + ${info.byteLength} bytes] runs past the end of the file`);
    }
    return { ...info, offset: dataOffset + Number(relOffset) };
  });
  return { version, metadata, tensors, alignment, dataOffset, fileSize: c.size };
}

/** Reads one metadata value of type `type` (recursing into arrays). */
function readValue(c: GgufCursor, type: number, key: string, depth: number): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(key);
    case GgufValueType.INT8: return c.i8(key);
    case GgufValueType.UINT16: return c.u16(key);
    case GgufValueType.INT16: return c.i16(key);
    case GgufValueType.UINT32: return c.u32(key);
    case GgufValueType.INT32: return c.i32(key);
    case GgufValueType.FLOAT32: return c.f32(key);
    case GgufValueType.FLOAT64: return c.f64(key);
    case GgufValueType.UINT64: return c.u64(key);
    case GgufValueType.INT64: return c.i64(key);
    case GgufValueType.BOOL: {
      const b = c.u8(key);
      if (b > 1) c.fail(`"${key}" is a bool with value ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING: return c.string(key);
    case GgufValueType.ARRAY: return readArray(c, key, depth);
    default: return c.fail(`"${key}" has unknown value type ${type}`);
  }
}

/** Reads `u32 element type · u64 count · elements`; numeric arrays become typed arrays. */
function readArray(c: GgufCursor, key: string, depth: number): GgufArray {
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`"${key}" nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const type = c.u32(`element type of "${key}"`);
  const minBytes =
    type === GgufValueType.STRING ? 8 : type === GgufValueType.ARRAY ? 12 : GGUF_SCALAR_BYTES[type];
  if (minBytes === undefined) c.fail(`"${key}" is an array of unknown type ${type}`);
  const n = c.count(`length of "${key}"`, minBytes);
  const fill = <A extends { [i: number]: unknown }>(out: A, read: () => A[number]): A => {
    for (let i = 0; i < n; i++) out[i] = read();
    return out;
  };
  switch (type) {
    case GgufValueType.UINT8: return fill(new Uint8Array(n), () => c.u8(key));
    case GgufValueType.INT8: return fill(new Int8Array(n), () => c.i8(key));
    case GgufValueType.UINT16: return fill(new Uint16Array(n), () => c.u16(key));
    case GgufValueType.INT16: return fill(new Int16Array(n), () => c.i16(key));
    case GgufValueType.UINT32: return fill(new Uint32Array(n), () => c.u32(key));
    case GgufValueType.INT32: return fill(new Int32Array(n), () => c.i32(key));
    case GgufValueType.FLOAT32: return fill(new Float32Array(n), () => c.f32(key));
    case GgufValueType.FLOAT64: return fill(new Float64Array(n), () => c.f64(key));
    case GgufValueType.UINT64: return fill(new BigUint64Array(n), () => c.u64(key));
    case GgufValueType.INT64: return fill(new BigInt64Array(n), () => c.i64(key));
    case GgufValueType.BOOL: return fill(new Array<boolean>(n), () => readValue(c, type, key, depth) as boolean);
    case GgufValueType.STRING: return fill(new Array<string>(n), () => c.string(key));
    default: return fill(new Array<GgufValue>(n), () => readArray(c, key, depth + 1));
  }
}

/** `general.alignment`: a u32 power of two (ggml's rule); 32 when absent. */
function readAlignment(c: GgufCursor, metadata: ReadonlyMap<string, GgufValue>): number {
  const value = metadata.get('general.alignment');
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || (value & (value - 1)) !== 0) {
    return c.fail(`general.alignment must be a power of two, got ${String(value)}`);
  }
  return value;
}

/** Reads `u32 n_dims · ne[] · u32 type · u64 offset` and checks dims against the block size. */
function readTensorInfo(c: GgufCursor, name: string): Omit<GgufTensorInfo, 'offset'> & { relOffset: bigint } {
  const where = `tensor "${name}"`;
  const nDims = c.u32(`${where} n_dims`);
  if (nDims < 1 || nDims > MAX_DIMS) c.fail(`${where} has ${nDims} dimensions (1..${MAX_DIMS} allowed)`);
  const ne: number[] = [];
  let nElements = 1;
  for (let d = 0; d < nDims; d++) {
    const dim = c.u64(`${where} ne[${d}]`);
    // Every type stores an element in at least 1 bit, so more than 8 × file-size elements is absurd.
    if (dim > BigInt(c.size) * 8n || Number(dim) * nElements > c.size * 8) {
      c.fail(`${where} dimension ne[${d}] = ${dim} cannot fit in a ${c.size}-byte file`);
    }
    ne.push(Number(dim));
    nElements *= Number(dim);
  }
  const type = c.u32(`${where} type`);
  const info = GGML_TYPES.get(type);
  if (!info) c.fail(`${where} has unknown ggml type ${type}`);
  if (ne[0] % info.blockSize !== 0) {
    c.fail(`${where} row length ${ne[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  const byteLength = (nElements / info.blockSize) * info.typeSize;
  const relOffset = c.u64(`${where} offset`);
  return { name, ne, shape: [...ne].reverse(), type, typeName: ggmlTypeName(type), nElements, byteLength, relOffset };
}

/**
 * A metadata integer as a number (accepts any integer value type, including u64/i64 that fit).
 * @throws ConfigError when the key is missing (and no fallback is given) or is not an integer
 */
export function ggufInt(meta: ReadonlyMap<string, GgufValue>, key: string, fallback?: number): number {
  const v = meta.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) {
    return Number(v);
  }
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new ConfigError(`GGUF metadata ${key}: expected an integer, got ${describe(v)}`);
}

/** A metadata float (any numeric type). @throws ConfigError when missing/not numeric */
export function ggufFloat(meta: ReadonlyMap<string, GgufValue>, key: string, fallback?: number): number {
  const v = meta.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new ConfigError(`GGUF metadata ${key}: expected a number, got ${describe(v)}`);
}

/** A metadata string. @throws ConfigError when missing/not a string */
export function ggufString(meta: ReadonlyMap<string, GgufValue>, key: string, fallback?: string): string {
  const v = meta.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v === 'string') return v;
  throw new ConfigError(`GGUF metadata ${key}: expected a string, got ${describe(v)}`);
}

function describe(v: GgufValue | undefined): string {
  if (v === undefined) return 'nothing (key missing)';
  if (typeof v === 'object') return `an array of ${v.length}`;
  return `${typeof v} ${String(v)}`;
}
