// Attention over a KV cache that lives in wasm memory (WasmWeightArena.allocateF32): the scores and
// the weighted sum of values run in SIMD128 (kernels/attention.ts), split over worker threads by head;
// the softmax between them is the TypeScript softmaxInto. The readable reference is the model
// package's attentionInto, which calls this first and falls back to its own loops when it returns false.
import { softmaxInto } from '../ops/reduce.ts';
import { regionOf } from './region.ts';
import { runOverThreads } from './threads.ts';

/**
 * Below this many multiply-adds per kernel call (H · n · Dh) the heads stay on the calling thread:
 * waking a worker costs tens of µs, about what 1M multiply-adds take here (phi-3-mini: ~340 keys).
 */
const PARALLEL_MIN_WORK = 1 << 20;

const scaleBits = new Int32Array(1);
const scaleF32 = new Float32Array(scaleBits.buffer);

/**
 * out[t, h, :] = Σ_j softmax_j(scale · q[t, h, :] · K[j, g(h), :]) · V[j, g(h), :] for the keys token
 * i = pos0 + t may see: j ≤ i, and j > i − window with a sliding window (g(h) = h / (H / Hkv)).
 * @param out    [T, H·Dh] f32 (written)
 * @param q      [T, H·Dh] f32
 * @param keys   [≥ pos0 + T, Hkv·Dh] f32 in wasm memory (a KV cache layer)
 * @param values [≥ pos0 + T, Hkv·Dh] f32 in the same memory
 * @returns false, doing nothing, when keys/values are not in one wasm memory, Dh is not a multiple of
 *   16, or the memory has no room for scratch
 */
export function wasmAttentionInto(
  out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array,
  pos0: number, T: number, nHeads: number, nKvHeads: number, headDim: number, scale: number, window: number | null,
): boolean {
  const region = regionOf(keys);
  if (region === undefined || regionOf(values) !== region || headDim % 16 !== 0 || nHeads % nKvHeads !== 0) return false;
  const width = nHeads * headDim;
  const kvStride = nKvHeads * headDim;
  const scratch = region.attentionScratch(width, nHeads * (pos0 + T));
  if (scratch === undefined) return false;
  scaleF32[0] = scale;
  const group = nHeads / nKvHeads;
  for (let t = 0; t < T; t++) {
    const i = pos0 + t;
    const j0 = window === null ? 0 : Math.max(0, i - window + 1);
    const n = i + 1 - j0; // visible keys j0 … i
    region.f32.set(q.subarray(t * width, (t + 1) * width), scratch.q / 4);
    const k = keys.byteOffset + j0 * kvStride * 4;
    const v = values.byteOffset + j0 * kvStride * 4;
    const minHeads = nHeads * n * headDim >= PARALLEL_MIN_WORK ? 1 : Infinity; // split heads only when worth a hand-off
    runOverThreads(region, 'attn_scores', nHeads, 1, minHeads, (h0, m) => [scratch.q, k, scratch.scores, n, kvStride, headDim, h0, h0 + m, group, scaleBits[0]]);
    const scores = region.f32.subarray(scratch.scores / 4, scratch.scores / 4 + nHeads * n); // [H, n]
    softmaxInto(scores, scores, nHeads, n);
    runOverThreads(region, 'attn_values', nHeads, 1, minHeads, (h0, m) => [scratch.scores, v, scratch.out, n, kvStride, headDim, h0, h0 + m, group]);
    out.set(region.f32.subarray(scratch.out / 4, scratch.out / 4 + width), t * width);
  }
  return true;
}
