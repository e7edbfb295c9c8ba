// Byte encodings of the WebAssembly binary format (spec §5.2 "Values"): LEB128 integers,
// little-endian f32, and length-prefixed vectors. Everything the emitter writes goes through these.

/** Unsigned LEB128 of a u32. */
export function u32(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v !== 0 ? byte | 0x80 : byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an i32 (i32.const immediates). */
export function s32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** IEEE-754 binary32, little-endian (f32.const immediates). */
export function f32(x: number): number[] {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}

/** A vector: its length (u32) then the concatenated items. */
export function vec(items: readonly number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

/** A name: UTF-8 bytes prefixed by their length. */
export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...u32(bytes.length), ...bytes];
}
