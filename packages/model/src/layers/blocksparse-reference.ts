/**
 * Readable reference for Phi-3-small block-sparse attention: build the whole token mask, then run
 * plain attention over every key with masked scores set to −inf. This is what the HF fixtures'
 * reference did (a dense attention masked by `_get_sparse_attn_mask(..., return_dense=True)`,
 * fixtures/phi3small-notes.md §1). It costs O(T·S) per head whatever the pattern; the fast kernel
 * `blocksparseAttentionInto` is tested against it.
 */
import { checkAttentionArgs, isAllowed, type AttentionDims, type BlocksparseLayout } from './blocksparse.ts';

/**
 * The dense token mask of the query rows pos0 .. pos0+T−1 against keys 0 .. S−1 (S = pos0 + T).
 * @returns [H, T, S] u8, 1 = may attend
 */
export function blocksparseMask(layout: BlocksparseLayout, pos0: number, T: number): Uint8Array {
  const H = layout.nHeads;
  const S = pos0 + T;
  const mask = new Uint8Array(H * T * S);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const row = (h * T + t) * S; // mask[h, t, :]
      for (let j = 0; j < S; j++) mask[row + j] = isAllowed(layout, h, pos0 + t, j) ? 1 : 0;
    }
  }
  return mask;
}

/**
 * Attention over all S keys with a given mask (masked scores are −inf before the softmax).
 * Same layouts and numerics (float64 accumulation) as `blocksparseAttentionInto`.
 * @param out  [T, H, Dh] f32 (written)
 * @param q    [T, H, Dh] f32
 * @param k    [S', Hkv, Dh] f32, S' >= S = pos0 + T
 * @param v    [S', Hkv, Dh] f32
 * @param mask [H, T, S] u8 from `blocksparseMask`; every row must allow at least one key
 */
export function denseMaskedAttentionRefInto(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  mask: Uint8Array, layout: BlocksparseLayout, dims: AttentionDims, scale: number,
): void {
  checkAttentionArgs('denseMaskedAttentionRef', layout, dims, out, q, k, v);
  const { T, pos0, H, Hkv, Dh } = dims;
  const S = pos0 + T;
  const groupSize = H / Hkv;
  const scores = new Float64Array(S);
  const acc = new Float64Array(Dh);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const qOff = (t * H + h) * Dh; // q[t, h, :]
      const g = Math.floor(h / groupSize);
      const maskRow = (h * T + t) * S; // mask[h, t, :]
      let max = -Infinity;
      for (let j = 0; j < S; j++) {
        let dot = 0;
        const kOff = (j * Hkv + g) * Dh; // k[j, g, :]
        for (let d = 0; d < Dh; d++) dot += q[qOff + d] * k[kOff + d];
        scores[j] = mask[maskRow + j] ? dot * scale : -Infinity;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j < S; j++) {
        scores[j] = Math.exp(scores[j] - max); // exp(−inf) = 0 for masked keys
        sum += scores[j];
      }
      acc.fill(0);
      for (let j = 0; j < S; j++) {
        const w = scores[j] / sum; // 0 for masked keys, which are still visited: this is the dense path
        const vOff = (j * Hkv + g) * Dh; // v[j, g, :]
        for (let d = 0; d < Dh; d++) acc[d] += w * v[vOff + d];
      }
      for (let d = 0; d < Dh; d++) out[qOff + d] = acc[d];
    }
  }
}
