// Rotary position embedding in HF's rotate_half (non-interleaved) layout: feature i of the rotated
// part pairs with feature i + rotDim/2 (HF `rotate_half` + `apply_rotary_pos_emb` in
// models/phi3/modeling_phi3.py), not with i+1 as in the interleaved GPT-J/llama.cpp-GGUF layout.
import { ShapeError } from '../errors.ts';
import { assertDim, assertLength } from '../shape.ts';

/**
 * Fills cos/sin tables for positions pos0 .. pos0+T-1, like HF `Phi3RotaryEmbedding.forward`:
 * angle = f32(position · invFreq[i]) (a float32 product, as torch computes it), then
 * cos/sin rounded to f32 and multiplied by `attentionScaling` (LongRoPE's mscale; 1 otherwise).
 * Only the unique half is stored: HF's emb = cat(freqs, freqs) repeats it.
 * @param cos     [T, half] f32 (written)
 * @param sin     [T, half] f32 (written)
 * @param invFreq [half] f32 inverse frequencies (rotDim = 2·half)
 */
export function rotaryTablesInto(
  cos: Float32Array, sin: Float32Array, invFreq: Float32Array, pos0: number, T: number, attentionScaling = 1,
): void {
  assertDim(pos0, 'rotaryTablesInto pos0');
  assertDim(T, 'rotaryTablesInto T');
  const half = invFreq.length;
  assertLength(cos, T * half, 'rotaryTablesInto cos');
  assertLength(sin, T * half, 'rotaryTablesInto sin');
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((pos0 + t) * invFreq[i]);
      cos[t * half + i] = Math.fround(Math.cos(angle)) * attentionScaling;
      sin[t * half + i] = Math.fround(Math.sin(angle)) * attentionScaling;
    }
  }
}

/**
 * Rotates the first `rotDim` features of every head, in place (features rotDim..Dh-1 pass through,
 * HF's partial rotary). For i < half = rotDim/2:
 *   x[i]      ← x[i]·cos[i] − x[i+half]·sin[i]
 *   x[i+half] ← x[i+half]·cos[i] + x[i]·sin[i]
 * @param x      [T, H, Dh] f32 (modified)
 * @param cos    [T, rotDim/2] f32, row t for the position of token t
 * @param sin    [T, rotDim/2] f32
 * @param rotDim even, 0 <= rotDim <= Dh (defaults to Dh)
 */
export function applyRotaryInPlace(
  x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, H: number, Dh: number, rotDim = Dh,
): void {
  assertDim(T, 'applyRotaryInPlace T');
  assertDim(H, 'applyRotaryInPlace H');
  assertDim(Dh, 'applyRotaryInPlace Dh');
  assertDim(rotDim, 'applyRotaryInPlace rotDim');
  if (rotDim % 2 !== 0 || rotDim > Dh) throw new ShapeError(`applyRotaryInPlace: rotDim=${rotDim} must be even and <= Dh=${Dh}`);
  const half = rotDim / 2;
  assertLength(x, T * H * Dh, 'applyRotaryInPlace x');
  assertLength(cos, T * half, 'applyRotaryInPlace cos');
  assertLength(sin, T * half, 'applyRotaryInPlace sin');
  for (let t = 0; t < T; t++) {
    const tab = t * half; // row t of [T, half]
    for (let h = 0; h < H; h++) {
      const off = (t * H + h) * Dh; // x[t, h, :]
      for (let i = 0; i < half; i++) {
        const a = x[off + i];
        const b = x[off + i + half];
        const c = cos[tab + i];
        const s = sin[tab + i];
        x[off + i] = a * c - b * s;
        x[off + i + half] = b * c + a * s;
      }
    }
  }
}
