/**
 * Scaled dot-product attention over the KV cache, with GQA and causal / sliding-window / custom
 * masks (HF modeling_phi3.py v4.47.1 `Phi3Attention.forward`, eager path).
 */
import { softmaxInto, wasmAttentionInto } from '@phi3/tensor';
import { activation, type ActivationBuffers } from './activations.ts';
import type { KvCache } from './kv-cache.ts';
import { applyRotary, type RotaryTables } from './rope.ts';

/** Head layout of one attention layer. */
export interface AttentionLayout {
  /** H query heads */
  readonly nHeads: number;
  /** Hkv key/value heads; query head h reads kv head floor(h / (H / Hkv)) (HF `repeat_kv`). */
  readonly nKvHeads: number;
  /** Dh */
  readonly headDim: number;
}

/** Which keys a query may see, on top of causality (j <= i). */
export interface AttentionMask {
  /** Sliding window W: query i sees keys i - W < j <= i (W keys including itself); null = unlimited. */
  readonly window: number | null;
  /** Extra per-head rule (e.g. Phi-3-small block-sparse), asked only for keys inside the window. */
  readonly allows?: (h: number, i: number, j: number) => boolean;
}

/**
 * out[t, h] = Σ_j softmax_j(q[t, h] · K[j, g] · scale) V[j, g], g = floor(h / (H / Hkv)), over the keys
 * visible to the query at absolute position i = pos0 + t. Scores are rounded to f32 and the softmax is
 * taken in f32, as HF does (`softmax(..., dtype=torch.float32)`).
 * @param out    [T, H * Dh] f32 (written)
 * @param q      [T, H * Dh] f32 queries, already rotated
 * @param keys   [>= pos0 + T, Hkv * Dh] f32 cached keys (rows 0 .. pos0 + T - 1 valid)
 * @param values [>= pos0 + T, Hkv * Dh] f32 cached values
 * @param pos0   absolute position of query row 0
 * A KV cache in wasm memory runs the SIMD kernel of @phi3/tensor instead (same semantics; f32 sums and exp;
 * causal and sliding-window masks); these loops are the reference they are tested against.
 */
export function attentionInto(
  out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array,
  pos0: number, T: number, layout: AttentionLayout, scale: number, mask: AttentionMask,
): void {
  const { nHeads: H, nKvHeads: Hkv, headDim: Dh } = layout;
  if (mask.allows === undefined && wasmAttentionInto(out, q, keys, values, pos0, T, H, Hkv, Dh, scale, mask.window)) return;
  const group = H / Hkv; // query heads per kv head
  const kvDim = Hkv * Dh;
  const scores = new Float32Array(pos0 + T);
  out.fill(0);
  for (let t = 0; t < T; t++) {
    const i = pos0 + t;
    const j0 = mask.window === null ? 0 : Math.max(0, i - mask.window + 1);
    const n = i + 1 - j0; // visible keys j0 .. i
    for (let h = 0; h < H; h++) {
      const qOff = (t * H + h) * Dh; // q[t, h, :]
      const kvOff = Math.floor(h / group) * Dh; // head g inside a cache row
      for (let j = j0; j <= i; j++) {
        if (mask.allows !== undefined && !mask.allows(h, i, j)) {
          scores[j - j0] = -Infinity;
          continue;
        }
        const kOff = j * kvDim + kvOff; // K[j, g, :]
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[qOff + d] * keys[kOff + d];
        scores[j - j0] = dot * scale;
      }
      const p = scores.subarray(0, n);
      softmaxInto(p, p, 1, n);
      for (let j = j0; j <= i; j++) {
        const w = p[j - j0];
        if (w === 0) continue;
        const vOff = j * kvDim + kvOff; // V[j, g, :]
        for (let d = 0; d < Dh; d++) out[qOff + d] += w * values[vOff + d];
      }
    }
  }
}

/**
 * The cache-aware middle of the phi3 / phimoe / phi3_v attention block: `rotateAndCache`, then attend
 * over everything cached (causal, optional sliding window).
 * @param q [T, H * Dh] f32 (rotated in place)
 * @param k [T, Hkv * Dh] f32 (rotated in place)
 * @param v [T, Hkv * Dh] f32
 * @param buffers where the output goes (the 'attention' buffer), else a fresh array
 * @returns [T, H * Dh] f32 attention output (before o_proj)
 */
export function cachedAttention(
  q: Float32Array, k: Float32Array, v: Float32Array, l: number, cache: KvCache, tables: RotaryTables,
  layout: AttentionLayout, scale: number, mask: AttentionMask, buffers?: ActivationBuffers,
): Float32Array {
  rotateAndCache(q, k, v, l, cache, tables, layout);
  const out = activation(buffers, 'attention', tables.T * layout.nHeads * layout.headDim);
  attentionInto(out, q, cache.keysOf(l), cache.valuesOf(l), cache.length, tables.T, layout, scale, mask);
  return out;
}

/**
 * Rotates q and k with this forward's tables and appends the rotated k and v to layer l of the cache at
 * positions [cache.length, cache.length + T) (keys are cached already rotated, as HF `Phi3Attention`
 * does): the step every attention kernel (dense, sliding, block-sparse) starts from.
 * @param q [T, H * Dh] f32 (rotated in place)
 * @param k [T, Hkv * Dh] f32 (rotated in place)
 * @param v [T, Hkv * Dh] f32
 */
export function rotateAndCache(
  q: Float32Array, k: Float32Array, v: Float32Array, l: number, cache: KvCache, tables: RotaryTables, layout: AttentionLayout,
): void {
  applyRotary(q, tables, layout.nHeads, layout.headDim);
  applyRotary(k, tables, layout.nKvHeads, layout.headDim);
  cache.write(l, k, v);
}

/**
 * Splits a fused qkv projection (HF Phi-3 `qkv_proj`: output features Q, then K, then V).
 * @param qkv [T, (H + 2 Hkv) Dh] f32
 * @param buffers where q, k, v go (buffers of those names), else fresh arrays
 * @returns q [T, H Dh], k [T, Hkv Dh], v [T, Hkv Dh] f32
 */
export function splitFusedQkv(
  qkv: Float32Array, T: number, layout: AttentionLayout, buffers?: ActivationBuffers,
): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const qDim = layout.nHeads * layout.headDim;
  const kvDim = layout.nKvHeads * layout.headDim;
  const width = qDim + 2 * kvDim;
  const q = activation(buffers, 'q', T * qDim);
  const k = activation(buffers, 'k', T * kvDim);
  const v = activation(buffers, 'v', T * kvDim);
  for (let t = 0; t < T; t++) {
    const row = t * width; // qkv[t, :]
    q.set(qkv.subarray(row, row + qDim), t * qDim);
    k.set(qkv.subarray(row + qDim, row + qDim + kvDim), t * kvDim);
    v.set(qkv.subarray(row + qDim + kvDim, row + width), t * kvDim);
  }
  return { q, k, v };
}
