/**
 * Phi-3-small block-sparse attention, part 1: the "local blocks + vertical stripes" pattern, the
 * per-query-block list of allowed key blocks the kernel walks, and the shared argument checks.
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
 * The sparse kernel is in `blocksparse-kernel.ts`, the dense-masked reference in
 * `blocksparse-reference.ts`; the tests compare the two.
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
