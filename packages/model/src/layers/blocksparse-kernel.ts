/**
 * The block-sparse attention kernel of Phi-3-small: for every query head and query block it visits
 * only the key blocks the pattern allows (`allowedKeyBlocksInto`), for a prefill chunk and for a
 * single decode token alike. Work per query row is (allowed blocks)·B·Dh, so a prefill costs
 * O(T · (numLocalBlocks + T/(B·vertStride)) · B · Dh) instead of O(T² · Dh) — what HF's triton kernel
 * (`triton_flash_blocksparse_attn.py`) does on a GPU via its CSR block layout.
 *
 * Rows of one query block share their key list (up to in-block causality), so full tiles of four
 * rows score and mix each loaded key together; leftover rows (and decode) go one at a time.
 * Scores and sums are accumulated in float64 and outputs rounded to float32, like the reference.
 */
import {
  allowedKeyBlocksInto, checkAttentionArgs, maxAllowedKeyBlocks, type AttentionDims, type BlocksparseLayout,
} from './blocksparse.ts';

/** Query rows that share each key load in the fast path. */
const TILE = 4;

/**
 * Block-sparse attention of T query rows against the keys cached so far.
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
  const blocks = new Int32Array(maxAllowedKeyBlocks(layout, Math.floor((pos0 + T - 1) / B)));
  const maxKeys = blocks.length * B;
  const tile: Tile = {
    keyPos: new Int32Array(maxKeys), n: 0, rows: 0, maxKeys, Dh,
    scores: new Float64Array(TILE * maxKeys), // [TILE, maxKeys]
    acc: new Float64Array(TILE * Dh), // [TILE, Dh]
  };
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
        tile.rows = tEnd - t >= TILE ? TILE : 1;
        const p = pos0 + t; // position of the tile's first row
        // The allowed keys: whole blocks, cut after the tile's last row in the diagonal block.
        tile.n = 0;
        for (let b = 0; b < nBlocks; b++) {
          const jEnd = Math.min((blocks[b] + 1) * B, p + tile.rows);
          for (let j = blocks[b] * B; j < jEnd; j++) tile.keyPos[tile.n++] = j;
        }
        const qOff = t * qRow + h * Dh;
        if (tile.rows === TILE) scoreFour(tile, q, qOff, qRow, k, kvRow, kvOff, scale);
        else scoreOne(tile, q, qOff, k, kvRow, kvOff, scale);
        softmaxCausalRows(tile, p);
        if (tile.rows === TILE) mixFour(tile, v, kvRow, kvOff);
        else mixOne(tile, v, kvRow, kvOff);
        for (let r = 0; r < tile.rows; r++) {
          const oOff = qOff + r * qRow; // out[t + r, h, :]
          for (let d = 0; d < Dh; d++) out[oOff + d] = tile.acc[r * Dh + d];
        }
        t += tile.rows;
      }
    }
  }
}

/** Scratch of one kernel call: the key list and the scores/outputs of the current tile. */
interface Tile {
  /** absolute key positions visited, ascending; the first n are valid */
  readonly keyPos: Int32Array;
  n: number;
  /** query rows in this tile (TILE or 1) */
  rows: number;
  readonly maxKeys: number;
  readonly Dh: number;
  /** [TILE, maxKeys] f64: scores, then softmax weights */
  readonly scores: Float64Array;
  /** [TILE, Dh] f64: the tile's outputs */
  readonly acc: Float64Array;
}

/** scores[r, i] = scale · q[row r] · k[keyPos[i], g] for four consecutive query rows. */
function scoreFour(
  tile: Tile, q: Float32Array, qOff: number, qRow: number, k: Float32Array, kvRow: number, kvOff: number, scale: number,
): void {
  const { keyPos, n, scores, maxKeys, Dh } = tile;
  const q0 = qOff, q1 = qOff + qRow, q2 = qOff + 2 * qRow, q3 = qOff + 3 * qRow;
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
}

/** scores[0, i] = scale · q[row] · k[keyPos[i], g] for a single query row. */
function scoreOne(tile: Tile, q: Float32Array, qOff: number, k: Float32Array, kvRow: number, kvOff: number, scale: number): void {
  const { keyPos, n, scores, Dh } = tile;
  for (let i = 0; i < n; i++) {
    const kOff = keyPos[i] * kvRow + kvOff; // k[j, g, :]
    let s = 0;
    for (let d = 0; d < Dh; d++) s += q[qOff + d] * k[kOff + d];
    scores[i] = s * scale;
  }
}

/**
 * Turns each row's scores into softmax weights over the keys it may see: row r sits at position
 * p0 + r, so keys after it (only possible in the diagonal block) get weight 0.
 */
function softmaxCausalRows(tile: Tile, p0: number): void {
  const { keyPos, n, scores, maxKeys } = tile;
  for (let r = 0; r < tile.rows; r++) {
    const row = r * maxKeys;
    const p = p0 + r;
    let max = -Infinity;
    for (let i = 0; i < n && keyPos[i] <= p; i++) if (scores[row + i] > max) max = scores[row + i];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = keyPos[i] <= p ? Math.exp(scores[row + i] - max) : 0;
      scores[row + i] = e;
      sum += e;
    }
    for (let i = 0; i < n; i++) scores[row + i] /= sum;
  }
}

/** acc[r, :] = Σ_i w[r, i] · v[keyPos[i], g, :] for four rows sharing each value load. */
function mixFour(tile: Tile, v: Float32Array, kvRow: number, kvOff: number): void {
  const { keyPos, n, scores, maxKeys, acc, Dh } = tile;
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
}

/** acc[0, :] = Σ_i w[0, i] · v[keyPos[i], g, :] for a single row. */
function mixOne(tile: Tile, v: Float32Array, kvRow: number, kvOff: number): void {
  const { keyPos, n, scores, acc, Dh } = tile;
  acc.fill(0, 0, Dh);
  for (let i = 0; i < n; i++) {
    const vOff = keyPos[i] * kvRow + kvOff; // v[j, g, :]
    const w = scores[i];
    for (let d = 0; d < Dh; d++) acc[d] += w * v[vOff + d];
  }
}
