// Attention over a KV cache that lives in wasm memory (WasmWeightArena.allocateF32): scores, softmax
// and the weighted sum of values for every query token of the call in one SIMD128 kernel
// (kernels/attention.ts; a single token, decode, in kernels/attention-decode.ts, which reads the cache
// row by row), split over worker threads by head. The readable reference is the model
// package's attentionInto, which calls this first and falls back to its own loops when it returns false.
import { ATTENTION_FIELDS, SCORE_PADDING } from './kernels/attention.ts';
import { decodeScratchFloats } from './kernels/attention-decode.ts';
import { regionOf } from './region.ts';
import { runOverThreads } from './threads.ts';

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
  if (T === 0) return true;
  const width = nHeads * headDim;
  let visibleKeys = 0; // Σ_t n_t
  for (let t = 0; t < T; t++) visibleKeys += window === null ? pos0 + t + 1 : Math.min(window, pos0 + t + 1);
  // one token (decode): the kernel that reads the cache row by row; more: head by head, per token
  const kernel = T === 1 ? 'attn_decode' : 'attn_tokens';
  const scoreFloats = T === 1 ? decodeScratchFloats(nHeads, visibleKeys) : pos0 + T + SCORE_PADDING;
  const scratch = region.attentionScratch(ATTENTION_FIELDS.length, T * width, scoreFloats, region.threads);
  if (scratch === undefined) return false;
  scaleF32[0] = scale;
  const fields: Record<(typeof ATTENTION_FIELDS)[number], number> = {
    q: scratch.q, kRows: keys.byteOffset, vRows: values.byteOffset, o: scratch.out, T, pos0, window: window ?? 0, width,
    kvStride: nKvHeads * headDim, dh: headDim, group: nHeads / nKvHeads, scaleBits: scaleBits[0],
  };
  const i32 = new Int32Array(region.f32.buffer, scratch.args, ATTENTION_FIELDS.length);
  ATTENTION_FIELDS.forEach((f, at) => (i32[at] = fields[f]));
  region.f32.set(q.subarray(0, T * width), scratch.q / 4);
  // work: H · Σ_t n_t · Dh multiply-adds for the scores, as many for the values (counted once: strided rows)
  runOverThreads(region, kernel, nHeads, 1, nHeads * visibleKeys * headDim, (h0, m, thread) =>
    [scratch.args, scratch.scores + thread * scratch.scoreBytesPerThread, h0, h0 + m]);
  out.set(region.f32.subarray(scratch.out / 4, scratch.out / 4 + T * width));
  return true;
}
