/**
 * Phi-3.5-MoE mixture-of-experts feed-forward: sparsemixer top-2 routing (inference mode) and
 * expert dispatch that computes only the experts a token is routed to.
 *
 * Reference: transformers v4.47.1 `models/phimoe/modeling_phimoe.py`, functions `sparsemixer`
 * (routing) and `PhimoeSparseMoeBlock.forward` / `PhimoeBlockSparseTop2MLP.forward` (experts).
 * Note that llama.cpp and mlx-lm route with a softmax over the top-2 logits instead; that is not
 * what the checkpoint was trained and evaluated with.
 */

/** Number of experts per token. HF `sparsemixer` asserts `top_k == 2`; nothing else exists. */
export const SPARSEMIXER_TOP_K = 2;

/** Routing decisions of T tokens. */
export interface Routing {
  /** Number of tokens T. */
  readonly tokens: number;
  /** [T, 2] int32: (first, second) expert of every token, HF `selected_experts`. */
  readonly experts: Int32Array;
  /**
   * [T, 2] f32: multipliers of those experts' outputs, HF `routing_weights`. Not renormalised:
   * each is the softmax over the experts kept by the threshold mask, evaluated at the chosen one.
   */
  readonly weights: Float32Array;
}

/**
 * Index of the largest `scores[off + e]`, e in [0, E), skipping `exclude`; the first index on ties
 * (like `torch.max(dim=-1)`).
 */
function argmaxExcept(scores: ArrayLike<number>, off: number, E: number, exclude: number): number {
  let best = -1;
  for (let e = 0; e < E; e++) {
    if (e === exclude) continue;
    if (best < 0 || scores[off + e] > scores[off + best]) best = e;
  }
  return best;
}

/**
 * Sparsemixer multiplier of the chosen expert: softmax of the scores over the experts that pass the
 * relative-gap mask, evaluated at `chosen` (whose score is the maximum of that set).
 * HF masks expert e when `(top - s[e]) / max(|s[e]|, top) > 2 * jitterEps`; we keep the negated
 * comparison so a 0/0 gap (NaN) is kept, exactly as `masked_fill` with a false mask does.
 */
function keptSoftmaxAt(
  scores: ArrayLike<number>,
  off: number,
  E: number,
  chosen: number,
  exclude: number,
  jitterEps: number,
): number {
  const top = scores[off + chosen];
  const limit = 2 * jitterEps;
  let denom = 0; // sum over kept e of exp(s[e] - top); `chosen` contributes exp(0) = 1
  for (let e = 0; e < E; e++) {
    if (e === exclude) continue;
    const s = scores[off + e];
    const relativeGap = (top - s) / Math.max(Math.abs(s), top);
    if (relativeGap > limit) continue;
    denom += Math.exp(s - top);
  }
  return 1 / denom;
}

/**
 * Sparsemixer top-2 routing of T tokens at inference (HF `sparsemixer`, `training=False`):
 *   1. e1 = argmax s; keep e iff (s[e1] - s[e]) / max(|s[e]|, s[e1]) <= 2·jitterEps;
 *      w1 = softmax over the kept experts, evaluated at e1.
 *   2. the same with e1 removed gives e2 and w2.
 * Arithmetic is in float64 (JS numbers); the weights are rounded to f32 on store.
 * @param routerLogits [T, E] f32 (or f64), the gate output `block_sparse_moe.gate(x)` (not modified)
 * @param T number of tokens
 * @param E number of experts (>= 2)
 * @param jitterEps HF `router_jitter_noise`
 * @returns the (first, second) experts and their multipliers, [T, 2] each
 */
export function routeSparsemixer(
  routerLogits: Float32Array | Float64Array,
  T: number,
  E: number,
  jitterEps: number,
): Routing {
  if (E < SPARSEMIXER_TOP_K) throw new RangeError(`sparsemixer needs at least 2 experts, got ${E}`);
  if (routerLogits.length < T * E) {
    throw new RangeError(`router logits hold ${routerLogits.length} values, need T*E = ${T * E}`);
  }
  const experts = new Int32Array(T * SPARSEMIXER_TOP_K);
  const weights = new Float32Array(T * SPARSEMIXER_TOP_K);
  for (let t = 0; t < T; t++) {
    const off = t * E; // routerLogits[t] is [E]
    const first = argmaxExcept(routerLogits, off, E, -1);
    const second = argmaxExcept(routerLogits, off, E, first);
    experts[2 * t] = first;
    experts[2 * t + 1] = second;
    weights[2 * t] = keptSoftmaxAt(routerLogits, off, E, first, -1, jitterEps);
    weights[2 * t + 1] = keptSoftmaxAt(routerLogits, off, E, second, first, jitterEps);
  }
  return { tokens: T, experts, weights };
}
