/**
 * Bounds-checked little-endian reading for the GGUF header. Every read first checks that the
 * bytes exist in the file, so a truncated or hostile file fails with a `WeightsFormatError`
 * naming the offset, and no read ever allocates more than the bytes that are really there.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WeightsFormatError } from '../errors.ts';

/** Random access to the bytes of a file (or an in-memory copy of one). */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** A fresh copy of `length` bytes at `offset` (byteOffset 0); the caller guarantees `offset + length <= size`. */
  read(offset: number, length: number): Uint8Array;
  /** Fills `into` with the bytes at `offset` (no allocation); the caller guarantees `offset + into.length <= size`. */
  readInto(into: Uint8Array, offset: number): void;
  close(): void;
}

/** A `ByteSource` over bytes already in memory (tests, fuzzing, small files). */
export function memoryByteSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.slice(offset, offset + length),
    readInto: (into, offset) => into.set(bytes.subarray(offset, offset + into.length)),
    close: () => {},
  };
}

/** Bytes per read call (one readSync moves at most ~2 GiB). */
const READ_CHUNK = 1 << 30;

/** A `ByteSource` reading a file with positioned synchronous reads (works for multi-GB files). */
export function fileByteSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new WeightsFormatError(`cannot open ${path}: ${(err as Error).message}`);
  }
  const size = fstatSync(fd).size;
  const readInto = (into: Uint8Array, offset: number): void => {
    for (let done = 0; done < into.length; ) {
      const n = readSync(fd, into, done, Math.min(READ_CHUNK, into.length - done), offset + done);
      if (n === 0) throw new WeightsFormatError(`${path}: unexpected end of file at byte ${offset + done}`);
      done += n;
    }
  };
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      readInto(out, offset);
      return out;
    },
    readInto,
    close: () => closeSync(fd),
  };
}

/** Header reads are small; buffer the file in windows of this many bytes. */
const WINDOW_BYTES = 1 << 20;
// ignoreBOM: keep a leading U+FEFF (a real vocabulary piece) instead of stripping it as a byte-order mark.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Sequential reader with a moving window over a `ByteSource`; `label` names the file in errors. */
export class GgufCursor {
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  private view = new DataView(this.window.buffer);

  constructor(
    private readonly source: ByteSource,
    readonly label: string,
  ) {}

  get size(): number {
    return this.source.size;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** Throws a `WeightsFormatError` naming the file and current offset. */
  fail(what: string): never {
    throw new WeightsFormatError(`${this.label}: ${what} (at byte ${this.pos})`);
  }

  /** Ensures `n` bytes at the cursor are in the window; returns their offset inside it. */
  private need(n: number, what: string): number {
    if (n > this.remaining) this.fail(`truncated file: ${what} needs ${n} bytes, ${this.remaining} left`);
    const rel = this.pos - this.windowStart;
    if (rel >= 0 && rel + n <= this.window.length) return rel;
    const length = Math.min(Math.max(n, WINDOW_BYTES), this.remaining);
    this.window = this.source.read(this.pos, length);
    this.windowStart = this.pos;
    this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    return 0;
  }

  u8(what: string): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.view.getUint8(o);
  }
  i8(what: string): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.view.getInt8(o);
  }
  u16(what: string): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.view.getUint16(o, true);
  }
  i16(what: string): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.view.getInt16(o, true);
  }
  u32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getUint32(o, true);
  }
  i32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getInt32(o, true);
  }
  f32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.view.getFloat32(o, true);
  }
  f64(what: string): number {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getFloat64(o, true);
  }
  u64(what: string): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getBigUint64(o, true);
  }
  i64(what: string): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.view.getBigInt64(o, true);
  }

  /**
   * A u64 count or offset that must fit the file: at most `remaining / minBytesEach` items of at
   * least `minBytesEach` bytes each can follow. Rejecting larger counts up front is what keeps a
   * hostile count from driving a huge allocation or a near-endless loop.
   */
  count(what: string, minBytesEach: number): number {
    const n = this.u64(what);
    if (n > BigInt(Math.floor(this.remaining / minBytesEach))) {
      this.fail(`${what} ${n} is impossible: only ${this.remaining} bytes follow`);
    }
    return Number(n);
  }

  /** A GGUF string: u64 byte length + UTF-8 bytes (not NUL-terminated). */
  string(what: string): string {
    const length = this.count(`${what} length`, 1);
    if (length === 0) return '';
    const o = this.need(length, what);
    this.pos += length;
    return utf8.decode(this.window.subarray(o, o + length));
  }

  /** Moves the cursor forward to the next multiple of `alignment`. */
  alignTo(alignment: number): void {
    this.pos = Math.ceil(this.pos / alignment) * alignment;
  }
}
