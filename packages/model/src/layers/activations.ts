/**
 * Reusable activation buffers. Every layer of a forward pass makes the same intermediates ([T, D]
 * norms, the [T, (H + 2 Hkv) Dh] qkv projection, …); taking them from one set of buffers by purpose,
 * instead of `new Float32Array` each time, means that after the first layer a forward allocates
 * nothing: a prefill no longer page-faults its way through fresh multi-MB arrays in every layer, nor
 * leaves them to the GC (peak memory then depends on when V8 collects).
 *
 * A buffer's contents last until the next `take` of the same name, so a name must only be used where
 * its previous result has been consumed (the decoder's layer steps are sequential: norm → attention →
 * residual add → norm → ffn → residual add). Results handed to callers beyond one step (logits, the
 * residual stream) stay fresh arrays.
 */

/** Largest buffer kept, in floats (16 MiB): longer activations are fresh arrays, so a rare long prompt does not pin them. */
const MAX_KEPT_FLOATS = 4 * 1024 * 1024;

export class ActivationBuffers {
  private readonly byName = new Map<string, Float32Array>();

  /**
   * The [length] f32 buffer for `name`, reused by every later take of that name (contents: whatever
   * was last written; callers overwrite every element). Longer than MAX_KEPT_FLOATS: a fresh zeroed array.
   */
  take(name: string, length: number): Float32Array {
    if (length > MAX_KEPT_FLOATS) return new Float32Array(length);
    let buffer = this.byName.get(name);
    if (buffer === undefined || buffer.length < length) {
      buffer = new Float32Array(length);
      this.byName.set(name, buffer);
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }
}

/** `buffers.take(name, length)`, or a fresh zeroed array when there are no buffers (callers outside a model). */
export function activation(buffers: ActivationBuffers | undefined, name: string, length: number): Float32Array {
  return buffers === undefined ? new Float32Array(length) : buffers.take(name, length);
}
