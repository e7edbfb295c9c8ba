/**
 * safetensors reader: validates the whole header against the file size before touching any data,
 * then reads tensors lazily by name (one tensor in memory at a time, widened to f32).
 *
 * Format (https://github.com/huggingface/safetensors): u64 little-endian header length N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then raw
 * little-endian data; offsets are relative to the first byte after the header.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { bf16ToF32Into, f16ToF32Into } from '@phi3/tensor';
import { WeightsFormatError } from '../errors.ts';

/** Bytes per element of every dtype the format defines (so any valid header validates). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** Largest header we accept; real checkpoints use well under 1 MiB (HF's own reader caps at 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** One tensor entry of a validated header. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte offset of the first element in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

/** Parses and validates a header buffer for a file of `fileSize` bytes. Throws WeightsFormatError. */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, file: string): Map<string, SafetensorsEntry> {
  const fail = (msg: string): never => {
    throw new WeightsFormatError(`${file}: ${msg}`);
  };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    fail('header is not valid UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + json.length;
  const dataSize = fileSize - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  const ranges: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof v !== 'object' || v === null) fail(`tensor "${name}" entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`tensor "${name}" has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataSize) fail(`tensor "${name}" data_offsets [${begin}, ${end}] lie outside the ${dataSize} data bytes`);
    let elements = 1;
    for (const d of shape as number[]) elements *= d; // bounded below: compared with a range inside the file
    if (elements * DTYPE_BYTES[dtype as string] !== end - begin) {
      fail(`tensor "${name}" shape [${(shape as number[]).join(', ')}] × ${dtype} does not match its ${end - begin} bytes`);
    }
    entries.set(name, { name, dtype: dtype as string, shape: shape as number[], fileOffset: dataStart + begin, byteLength: end - begin });
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) fail(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return entries;
}

/** An open .safetensors file; tensors are read on demand. Call close() when done. */
export class SafetensorsFile {
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  private fd: number;

  /** Opens and validates `path` (header only). Throws WeightsFormatError on any inconsistency. */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw new WeightsFormatError(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      const fileSize = fstatSync(this.fd).size;
      if (fileSize < 8) throw new WeightsFormatError(`${path}: file is too short (${fileSize} bytes) to be safetensors`);
      const lenBytes = this.readBytes(0, 8);
      const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
      if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
        throw new WeightsFormatError(`${path}: header length ${headerLen} exceeds the file size or the ${MAX_HEADER_BYTES}-byte cap`);
      }
      this.entries = parseSafetensorsHeader(this.readBytes(8, Number(headerLen)), fileSize, path);
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** Reads one tensor widened to f32 (F32 copied, BF16/F16 converted exactly). @returns [∏shape] f32 */
  readF32(name: string): Float32Array {
    const e = this.entries.get(name);
    if (e === undefined) throw new WeightsFormatError(`${this.path}: no tensor named "${name}"`);
    const n = e.byteLength / DTYPE_BYTES[e.dtype];
    const out = new Float32Array(n);
    if (e.dtype === 'F32') {
      this.readInto(new Uint8Array(out.buffer), e.fileOffset); // safetensors is little-endian, like every host Node runs on
    } else if (e.dtype === 'BF16' || e.dtype === 'F16') {
      const raw = new Uint16Array(n);
      this.readInto(new Uint8Array(raw.buffer), e.fileOffset);
      if (e.dtype === 'BF16') bf16ToF32Into(out, raw); // exact: bf16 is the upper half of an f32
      else f16ToF32Into(out, raw);
    } else {
      throw new WeightsFormatError(`${this.path}: tensor "${name}" has dtype ${e.dtype}; only F32, BF16 and F16 are supported`);
    }
    return out;
  }

  /** Fills `into` with tensor `name`'s stored bytes from byte `offset` of the tensor on (no allocation). */
  readRawInto(name: string, into: Uint8Array, offset: number): void {
    const e = this.entries.get(name);
    if (e === undefined) throw new WeightsFormatError(`${this.path}: no tensor named "${name}"`);
    if (offset < 0 || offset + into.length > e.byteLength) {
      throw new WeightsFormatError(`${this.path}: bytes [${offset}, ${offset + into.length}) are outside tensor "${name}" (${e.byteLength} bytes)`);
    }
    this.readInto(into, e.fileOffset + offset);
  }

  close(): void {
    closeSync(this.fd);
  }

  private readBytes(position: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    this.readInto(buf, position);
    return buf;
  }

  /** Fills `buf` from `position`, in chunks (readSync caps one call at 2 GiB). */
  private readInto(buf: Uint8Array, position: number): void {
    const CHUNK = 1 << 30;
    for (let done = 0; done < buf.length; ) {
      const got = readSync(this.fd, buf, done, Math.min(CHUNK, buf.length - done), position + done);
      if (got === 0) throw new WeightsFormatError(`${this.path}: unexpected end of file`);
      done += got;
    }
  }
}
