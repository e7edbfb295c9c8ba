/**
 * Phi-3-small block-sparse attention: the "local blocks + vertical stripes" pattern and a kernel
 * that visits only the key blocks the pattern allows.
 *
 * Pattern (HF remote code `triton_flash_blocksparse_attn.py::_get_sparse_attn_mask`, confirmed in
 * fixtures/phi3small-notes.md §4.6), for query head `h`, absolute query position `p`, key `j`,
 * `qb = p // B`, `kb = j // B`:
 *
 *   allowed = j <= p  and  ( qb - kb < numLocalBlocks  or  (kb + h·s + 1) % vertStride == 0 )
 *   s = 0 if homoHeadPattern else max(1, floor(vertStride / nHeads))
 *
 * "Local" is block-granular (the query's own block and the numLocalBlocks − 1 before it); the only
 * token-level rule is causality inside the diagonal block. A decode query at position p uses
 * exactly row p of the same mask, so prefill and decode share one kernel.
 *
 * The reference (dense-masked) implementation lives in `blocksparse-reference.ts`; the tests
 * compare the two.
 */
import { ShapeError } from '@phi3/tensor';

/** The block-sparse layout of one model (all sparse layers share it). */
export interface BlocksparseLayout {
  /** HF: blocksparse_block_size (B; 64 in the real model). */
  readonly blockSize: number;
  /** HF: blocksparse_num_local_blocks (16 in the real model = 1024 tokens). */
  readonly numLocalBlocks: number;
  /** HF: blocksparse_vert_stride (8 in the real model). */
  readonly vertStride: number;
  /** HF: num_attention_heads — the stripe phase is indexed by the *query* head. */
  readonly nHeads: number;
  /** HF: blocksparse_homo_head_pattern — every head has the stripes of head 0. */
  readonly homoHeadPattern: boolean;
}

/** How far head `h`'s stripes are shifted: `h · s` with s = max(1, floor(vertStride / nHeads)). */
export function stripeShift(layout: BlocksparseLayout, h: number): number {
  if (layout.homoHeadPattern) return 0;
  return h * Math.max(1, Math.floor(layout.vertStride / layout.nHeads));
}

/** Whether query block `qb` of head `h` may look at key block `kb` (ignoring in-block causality). */
export function isKeyBlockAllowed(layout: BlocksparseLayout, h: number, qb: number, kb: number): boolean {
  if (kb > qb) return false;
  if (qb - kb < layout.numLocalBlocks) return true;
  return (kb + stripeShift(layout, h) + 1) % layout.vertStride === 0;
}

/** Token-level mask: may the query at absolute position `p` (head `h`) attend to key position `j`? */
export function isAllowed(layout: BlocksparseLayout, h: number, p: number, j: number): boolean {
  const B = layout.blockSize;
  return j <= p && isKeyBlockAllowed(layout, h, Math.floor(p / B), Math.floor(j / B));
}

/** Upper bound on the number of key blocks any query block can visit (sizes scratch buffers). */
export function maxAllowedKeyBlocks(layout: BlocksparseLayout, qb: number): number {
  return Math.min(qb + 1, layout.numLocalBlocks + Math.floor(qb / layout.vertStride) + 1);
}

/**
 * Lists, in ascending order, the key blocks that query block `qb` of head `h` may visit, without
 * scanning the blocks it may not: stripes are enumerated by stepping `vertStride` from the first
 * stripe, then the local window is appended. Cost O(qb / vertStride + numLocalBlocks).
 * @param out  Int32Array with room for `maxAllowedKeyBlocks(layout, qb)` entries (written)
 * @returns    the number of blocks written
 */
export function allowedKeyBlocksInto(out: Int32Array, layout: BlocksparseLayout, h: number, qb: number): number {
  const vs = layout.vertStride;
  const firstLocal = Math.max(0, qb - layout.numLocalBlocks + 1);
  // Smallest kb >= 0 with (kb + shift + 1) % vs == 0.
  const firstStripe = (((-(stripeShift(layout, h) + 1)) % vs) + vs) % vs;
  let n = 0;
  for (let kb = firstStripe; kb < firstLocal; kb += vs) out[n++] = kb;
  for (let kb = firstLocal; kb <= qb; kb++) out[n++] = kb;
  return n;
}

/** Sizes of one attention call. Query head h reads kv head floor(h / (H / Hkv)) (GQA). */
export interface AttentionDims {
  /** query rows in this call */
  readonly T: number;
  /** absolute position of query row 0 (= KV-cache length before this call) */
  readonly pos0: number;
  readonly H: number;
  readonly Hkv: number;
  readonly Dh: number;
}

/** Checks the dims against the layout and the buffer lengths; throws ShapeError on mismatch. */
export function checkAttentionArgs(
  where: string, layout: BlocksparseLayout, dims: AttentionDims,
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
): void {
  const { T, pos0, H, Hkv, Dh } = dims;
  const S = pos0 + T;
  if (H !== layout.nHeads) throw new ShapeError(`${where}: H=${H} but the layout has nHeads=${layout.nHeads}`);
  if (Hkv < 1 || H % Hkv !== 0) throw new ShapeError(`${where}: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (q.length < T * H * Dh || out.length < T * H * Dh) {
    throw new ShapeError(`${where}: q/out need [T=${T}, H=${H}, Dh=${Dh}]`);
  }
  if (k.length < S * Hkv * Dh || v.length < S * Hkv * Dh) {
    throw new ShapeError(`${where}: k/v need at least [S=${S}, Hkv=${Hkv}, Dh=${Dh}]`);
  }
}

/** Query rows processed together: they share every key load (their key lists are identical
 *  except for causality inside the diagonal block, which is masked per row). */
const ROWS_PER_TILE = 4;

/**
 * Block-sparse attention that touches only the allowed key blocks. For every query head and
 * every query block it lists the allowed key blocks once (`allowedKeyBlocksInto`); tiles of up to
 * four rows of that block then score those keys together (token-causal in the diagonal block),
 * softmax, and mix V. Work per row is (allowed blocks)·B·Dh, so a prefill costs
 * O(T · (numLocalBlocks + T/(B·vertStride)) · B · Dh) instead of O(T² · Dh).
 * Scores and sums are accumulated in float64, outputs rounded to float32.
 *
 * @param out   [T, H, Dh] f32 (written)
 * @param q     [T, H, Dh] f32, rows at absolute positions pos0 .. pos0+T−1 (already rotated)
 * @param k     [S', Hkv, Dh] f32 with S' >= pos0+T: keys of positions 0 .. pos0+T−1 (cache + new);
 *              rows past pos0+T−1 are never read
 * @param v     [S', Hkv, Dh] f32, same layout as k
 * @param scale softmax scale (phi3small with muP: mup_attn_multiplier / Dh)
 */
export function blocksparseAttentionInto(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  layout: BlocksparseLayout, dims: AttentionDims, scale: number,
): void {
  checkAttentionArgs('blocksparseAttention', layout, dims, out, q, k, v);
  const { T, pos0, H, Hkv, Dh } = dims;
  const B = layout.blockSize;
  const groupSize = H / Hkv; // query heads per kv head
  const lastQb = Math.floor((pos0 + T - 1) / B);
  const blocks = new Int32Array(maxAllowedKeyBlocks(layout, lastQb));
  const maxKeys = blocks.length * B;
  const keyPos = new Int32Array(maxKeys); // absolute key positions visited by one tile
  const scores = new Float64Array(ROWS_PER_TILE * maxKeys); // [rows, keys] of one tile
  const acc = new Float64Array(ROWS_PER_TILE * Dh); // [rows, Dh] of one tile
  const qRow = H * Dh; // stride of q/out between positions
  const kvRow = Hkv * Dh; // stride of k/v between positions

  for (let h = 0; h < H; h++) {
    const kvOff = Math.floor(h / groupSize) * Dh; // this head's kv head inside a k/v row
    let t = 0;
    while (t < T) {
      const qb = Math.floor((pos0 + t) / B);
      const nBlocks = allowedKeyBlocksInto(blocks, layout, h, qb);
      const tEnd = Math.min(T, (qb + 1) * B - pos0); // rows of this call inside query block qb
      while (t < tEnd) {
        const rows = Math.min(ROWS_PER_TILE, tEnd - t);
        const pLast = pos0 + t + rows - 1; // the tile's last (most permissive) query position
        // Gather the allowed key positions: whole blocks, cut at pLast in the diagonal block.
        let n = 0;
        for (let b = 0; b < nBlocks; b++) {
          const jEnd = Math.min((blocks[b] + 1) * B, pLast + 1);
          for (let j = blocks[b] * B; j < jEnd; j++) keyPos[n++] = j;
        }
        // Missing rows of a short tile repeat the last real row; they are computed, never stored.
        const q0 = t * qRow + h * Dh;
        const q1 = (t + Math.min(1, rows - 1)) * qRow + h * Dh;
        const q2 = (t + Math.min(2, rows - 1)) * qRow + h * Dh;
        const q3 = (t + Math.min(3, rows - 1)) * qRow + h * Dh;
        for (let i = 0; i < n; i++) {
          const kOff = keyPos[i] * kvRow + kvOff; // k[j, g, :]
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let d = 0; d < Dh; d++) {
            const kd = k[kOff + d];
            s0 += q[q0 + d] * kd;
            s1 += q[q1 + d] * kd;
            s2 += q[q2 + d] * kd;
            s3 += q[q3 + d] * kd;
          }
          scores[i] = s0 * scale;
          scores[maxKeys + i] = s1 * scale;
          scores[2 * maxKeys + i] = s2 * scale;
          scores[3 * maxKeys + i] = s3 * scale;
        }
        // Row-wise softmax; keys after the row's own position (diagonal block) get weight 0.
        for (let r = 0; r < ROWS_PER_TILE; r++) {
          const p = pos0 + t + Math.min(r, rows - 1);
          const row = r * maxKeys;
          let max = -Infinity;
          for (let i = 0; i < n && keyPos[i] <= p; i++) max = Math.max(max, scores[row + i]);
          let sum = 0;
          for (let i = 0; i < n; i++) {
            const e = keyPos[i] <= p ? Math.exp(scores[row + i] - max) : 0;
            scores[row + i] = e;
            sum += e;
          }
          for (let i = 0; i < n; i++) scores[row + i] /= sum;
        }
        acc.fill(0);
        for (let i = 0; i < n; i++) {
          const vOff = keyPos[i] * kvRow + kvOff; // v[j, g, :]
          const w0 = scores[i], w1 = scores[maxKeys + i], w2 = scores[2 * maxKeys + i], w3 = scores[3 * maxKeys + i];
          for (let d = 0; d < Dh; d++) {
            const vd = v[vOff + d];
            acc[d] += w0 * vd;
            acc[Dh + d] += w1 * vd;
            acc[2 * Dh + d] += w2 * vd;
            acc[3 * Dh + d] += w3 * vd;
          }
        }
        for (let r = 0; r < rows; r++) {
          const oOff = (t + r) * qRow + h * Dh;
          for (let d = 0; d < Dh; d++) out[oOff + d] = acc[r * Dh + d];
        }
        t += rows;
      }
    }
  }
}

/**
 * Counts the key blocks a prefill of `T` tokens visits, summed over heads and query blocks, next
 * to what a dense-masked kernel (every block of the square) and a dense causal kernel (blocks on or
 * below the diagonal) visit. Used by the benchmark to report the sparsity actually exploited.
 */
export function countVisitedBlocks(layout: BlocksparseLayout, T: number): { sparse: number; causal: number; square: number } {
  const nb = Math.ceil(T / layout.blockSize);
  const blocks = new Int32Array(maxAllowedKeyBlocks(layout, nb - 1));
  let sparse = 0;
  for (let h = 0; h < layout.nHeads; h++) {
    for (let qb = 0; qb < nb; qb++) sparse += allowedKeyBlocksInto(blocks, layout, h, qb);
  }
  return { sparse, causal: layout.nHeads * (nb * (nb + 1)) / 2, square: layout.nHeads * nb * nb };
}
