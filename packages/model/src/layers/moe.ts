/**
 * Phi-3.5-MoE mixture-of-experts feed-forward: sparsemixer top-2 routing (inference mode) and
 * expert dispatch that computes only the experts a token is routed to.
 *
 * Reference: transformers v4.47.1 `models/phimoe/modeling_phimoe.py`, functions `sparsemixer`
 * (routing) and `PhimoeSparseMoeBlock.forward` / `PhimoeBlockSparseTop2MLP.forward` (experts).
 * Note that llama.cpp and mlx-lm route with a softmax over the top-2 logits instead; that is not
 * what the checkpoint was trained and evaluated with.
 */
import { linearInto, mulInto, siluInto, type WeightMatrix } from '@phi3/tensor';

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

/** One expert of a Phi-3.5-MoE layer (HF `PhimoeBlockSparseTop2MLP`; no biases). */
export interface ExpertWeights {
  /** HF `experts.{e}.w1.weight` [F, D] — gate, goes through silu */
  readonly w1: WeightMatrix;
  /** HF `experts.{e}.w2.weight` [D, F] — down projection */
  readonly w2: WeightMatrix;
  /** HF `experts.{e}.w3.weight` [F, D] — up */
  readonly w3: WeightMatrix;
}

/** The weights of one sparse MoE block (HF `PhimoeSparseMoeBlock`). */
export interface MoeWeights {
  /** HF `block_sparse_moe.gate.weight` [E, D], no bias: router logits = gate · x */
  readonly gate: WeightMatrix;
  /** [E] experts, in router-row order */
  readonly experts: readonly ExpertWeights[];
}

/** Output of one MoE block plus what the router decided (exposed through the decoder taps). */
export interface MoeOutput {
  /** [T, D] f32 */
  readonly out: Float32Array;
  /** [T, E] f32 gate output, HF `router_logits` */
  readonly routerLogits: Float32Array;
  readonly routing: Routing;
}

/**
 * Sparse MoE feed-forward (HF `PhimoeSparseMoeBlock.forward`, eval mode):
 * out[t] = Σ_k weight[t,k] · expert_{experts[t,k]}(x[t]), experts routed by `routeSparsemixer`.
 * Only routed experts run: 2 experts × 3 projections per token.
 * @param x [T, D] f32 (post-attention LayerNorm output; not modified)
 * @param jitterEps HF `router_jitter_noise`
 */
export function sparseMoe(x: Float32Array, T: number, w: MoeWeights, jitterEps: number): MoeOutput {
  const E = w.experts.length;
  const routerLogits = new Float32Array(T * E); // [T, E]
  linearInto(routerLogits, x, w.gate, T);
  const routing = routeSparsemixer(routerLogits, T, E, jitterEps);
  const out = new Float32Array(T * w.gate.cols); // [T, D], zeros like HF's final_hidden_states
  expertsForwardInto(out, x, T, routing, w.experts);
  return { out, routerLogits, routing };
}

/**
 * Expert dispatch: groups the tokens by expert (HF: `torch.where(expert_mask[e])`), runs each routed
 * expert once over its gathered rows (a small prefill matmul rather than T matvecs), and adds the
 * weighted results back. Experts are visited in index order, as HF's `index_add_` loop does.
 * @param out [T, D] f32 (accumulated into; zero it for a fresh result)
 * @param x   [T, D] f32
 * @param routing decisions for the T tokens
 */
export function expertsForwardInto(
  out: Float32Array,
  x: Float32Array,
  T: number,
  routing: Routing,
  experts: readonly ExpertWeights[],
): void {
  if (routing.tokens !== T) throw new RangeError(`routing covers ${routing.tokens} tokens, x has ${T}`);
  const K = SPARSEMIXER_TOP_K;
  const slotsOf = groupSlotsByExpert(routing, experts.length);
  for (let e = 0; e < experts.length; e++) {
    const slots = slotsOf[e]; // flat indices t*K + k routed to expert e
    if (slots.length === 0) continue;
    const { w1, w2, w3 } = experts[e];
    const D = w1.cols;
    const F = w1.rows;
    const n = slots.length;
    const xs = new Float32Array(n * D); // [n, D] rows of the routed tokens
    for (let i = 0; i < n; i++) {
      const t = Math.floor(slots[i] / K);
      xs.set(x.subarray(t * D, (t + 1) * D), i * D);
    }
    const gate = new Float32Array(n * F); // [n, F]
    const up = new Float32Array(n * F); // [n, F]
    linearInto(gate, xs, w1, n);
    linearInto(up, xs, w3, n);
    siluInto(gate, gate);
    mulInto(gate, gate, up); // silu(w1 x) ⊙ (w3 x)
    const ys = new Float32Array(n * D); // [n, D]
    linearInto(ys, gate, w2, n);
    for (let i = 0; i < n; i++) {
      const t = Math.floor(slots[i] / K);
      const weight = routing.weights[slots[i]];
      for (let j = 0; j < D; j++) out[t * D + j] += weight * ys[i * D + j];
    }
  }
}

/** For each expert, the flat routing slots (t·2 + k) that chose it, in token order. */
function groupSlotsByExpert(routing: Routing, E: number): Int32Array[] {
  const counts = new Int32Array(E);
  for (const e of routing.experts) counts[e]++;
  const slots = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(E);
  routing.experts.forEach((e, slot) => {
    slots[e][fill[e]++] = slot;
  });
  return slots;
}
