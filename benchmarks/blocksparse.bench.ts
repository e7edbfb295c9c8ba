/**
 * Block-sparse attention at the real Phi-3-small layout (B 64, 16 local blocks, vert_stride 8,
 * 32 query heads / 8 kv heads, Dh 128): sparse kernel vs the dense-masked reference, for a full
 * prefill of T tokens and for one decode step at position T−1.
 *
 *   node_modules/.bin/tsx benchmarks/blocksparse.bench.ts [--tokens 4096,8192] [--sample 8] [--full] [--dense-reps 1]
 *
 * Prefill times are per-query-block sums: a call with pos0 = qb·B, T = B does exactly the work of
 * query block qb inside a full prefill, so timing every `sample`-th block (plus the last) and scaling
 * by blocks/sampled estimates the whole prefill without running it (cost is affine in qb, so the
 * systematic sample is unbiased up to rounding). `--full` runs the sparse prefill in one call instead.
 * The dense-masked reference costs the same for every row (it scores all S keys), so its last query
 * block is timed and scaled. "dense causal" is the sparse kernel with every block local:
 * the same inner loops over the whole causal triangle, the fair like-for-like baseline.
 */
import { createRng, fillUniform } from '../packages/tensor/src/index.ts';
import { countVisitedBlocks, type AttentionDims, type BlocksparseLayout } from '../packages/model/src/layers/blocksparse.ts';
import { blocksparseAttentionInto } from '../packages/model/src/layers/blocksparse-kernel.ts';
import { blocksparseMask, denseMaskedAttentionRefInto } from '../packages/model/src/layers/blocksparse-reference.ts';

const H = 32, Hkv = 8, Dh = 128;
const REAL: BlocksparseLayout = { blockSize: 64, numLocalBlocks: 16, vertStride: 8, nHeads: H, homoHeadPattern: false };
const SCALE = 1 / Dh; // muP: mup_attn_multiplier / Dh

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  fillUniform(a, createRng(seed), -1, 1);
  return a;
}

function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Estimated prefill time of `layout` from every `sample`-th query block (and the last one). */
function sampledPrefillMs(layout: BlocksparseLayout, q: Float32Array, k: Float32Array, v: Float32Array, T: number, sample: number): number {
  const B = layout.blockSize;
  const nb = Math.ceil(T / B);
  const picked: number[] = [];
  for (let qb = Math.floor(sample / 2); qb < nb; qb += sample) picked.push(qb);
  let total = 0;
  for (const qb of picked) {
    const rows = Math.min(B, T - qb * B);
    const dims: AttentionDims = { T: rows, pos0: qb * B, H, Hkv, Dh };
    const qBlock = q.subarray(qb * B * H * Dh, (qb * B + rows) * H * Dh);
    const out = new Float32Array(qBlock.length);
    total += timeMs(() => blocksparseAttentionInto(out, qBlock, k, v, layout, dims, SCALE));
  }
  return (total * nb) / picked.length;
}

/**
 * The reference scores all S = T keys for every row of a full prefill (then masks), so each query
 * block costs the same: time the last block (its real mask rows) `reps` times and scale by the blocks.
 */
function denseMaskedPrefillMs(q: Float32Array, k: Float32Array, v: Float32Array, T: number, reps: number): number {
  const B = REAL.blockSize;
  const nb = Math.ceil(T / B);
  const rows = T - (nb - 1) * B;
  const pos0 = T - rows;
  const mask = blocksparseMask(REAL, pos0, rows); // [H, rows, T]
  const qBlock = q.subarray(pos0 * H * Dh);
  const out = new Float32Array(qBlock.length);
  const dims: AttentionDims = { T: rows, pos0, H, Hkv, Dh };
  const times: number[] = [];
  for (let r = 0; r < reps; r++) times.push(timeMs(() => denseMaskedAttentionRefInto(out, qBlock, k, v, mask, REAL, dims, SCALE)));
  return (median(times) * T) / rows;
}

function decodeMs(T: number, q1: Float32Array, k: Float32Array, v: Float32Array): { sparse: number; dense: number } {
  const dims: AttentionDims = { T: 1, pos0: T - 1, H, Hkv, Dh };
  const out = new Float32Array(H * Dh);
  const mask = blocksparseMask(REAL, T - 1, 1);
  const sparse: number[] = [], dense: number[] = [];
  for (let r = 0; r < 7; r++) {
    sparse.push(timeMs(() => blocksparseAttentionInto(out, q1, k, v, REAL, dims, SCALE)));
    dense.push(timeMs(() => denseMaskedAttentionRefInto(out, q1, k, v, mask, REAL, dims, SCALE)));
  }
  return { sparse: median(sparse), dense: median(dense) };
}

const tokenCounts = arg('tokens', '4096,8192').split(',').map(Number);
const sample = Number(arg('sample', '8'));
const full = process.argv.includes('--full');
const denseReps = Number(arg('dense-reps', '1'));

console.log(`# blocksparse attention, B=${REAL.blockSize} local=${REAL.numLocalBlocks} vert_stride=${REAL.vertStride} H=${H} Hkv=${Hkv} Dh=${Dh}`);
console.log(full ? 'sparse prefill: one full call' : `sparse/causal prefill: every ${sample}th query block timed, scaled`);
console.log('dense-masked prefill: the last query block timed (every block costs the same), scaled\n');
console.log('| T | visited blocks sparse / causal / square | sparse÷square | sparse÷causal | prefill sparse ms | prefill dense causal ms | prefill dense-masked ms | speed-up vs masked | vs causal | decode sparse ms | decode dense-masked ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const T of tokenCounts) {
  const q = random(T * H * Dh, 1);
  const k = random(T * Hkv * Dh, 2);
  const v = random(T * Hkv * Dh, 3);
  const counts = countVisitedBlocks(REAL, T);
  const allLocal: BlocksparseLayout = { ...REAL, numLocalBlocks: Math.ceil(T / REAL.blockSize) };
  const sparseMs = full
    ? timeMs(() => blocksparseAttentionInto(new Float32Array(q.length), q, k, v, REAL, { T, pos0: 0, H, Hkv, Dh }, SCALE))
    : sampledPrefillMs(REAL, q, k, v, T, sample);
  const causalMs = sampledPrefillMs(allLocal, q, k, v, T, sample);
  const maskedMs = denseMaskedPrefillMs(q, k, v, T, denseReps);
  const dec = decodeMs(T, q.subarray((T - 1) * H * Dh), k, v);
  console.log(
    `| ${T} | ${counts.sparse} / ${counts.causal} / ${counts.square} | ${(counts.sparse / counts.square).toFixed(3)} | ` +
    `${(counts.sparse / counts.causal).toFixed(3)} | ${sparseMs.toFixed(0)} | ${causalMs.toFixed(0)} | ${maskedMs.toFixed(0)} | ` +
    `${(maskedMs / sparseMs).toFixed(1)}× | ${(causalMs / sparseMs).toFixed(1)}× | ${dec.sparse.toFixed(2)} | ${dec.dense.toFixed(2)} |`,
  );
}
