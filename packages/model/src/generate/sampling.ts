/**
 * Token sampling: repetition penalty, temperature, top-k, top-p, min-p, then a seeded draw.
 *
 * The processors run in the order of transformers' `GenerationMixin._get_logits_processor`
 * (generation/utils.py): `RepetitionPenaltyLogitsProcessor` first, then the sampling warpers
 * `TemperatureLogitsWarper` → `TopKLogitsWarper` → `TopPLogitsWarper` → `MinPLogitsWarper`
 * (generation/logits_process.py). Each one works in place on a `[V]` f32 logits row and removes a
 * token by setting its logit to -Infinity, exactly like the HF warpers' `filter_value`.
 * Temperature 0 means greedy: the penalty still applies (as in HF greedy search), then argmax.
 */
import { argmax, createRng, topK } from '@phi3/tensor';
import { InvalidArgumentError } from '../errors.ts';

/** Sampling options; names follow HF `GenerationConfig` (the CLI maps llama.cpp flags onto them). */
export interface SamplingOptions {
  /** HF: temperature. 0 = greedy (argmax); must be ≥ 0 and finite. */
  readonly temperature: number;
  /** HF: top_k. 0 = off; otherwise keep the k largest logits (plus ties with the k-th). */
  readonly topK: number;
  /** HF: top_p. 1 = off; keep the smallest most-likely prefix with probability mass ≥ p; in (0, 1]. */
  readonly topP: number;
  /** HF: min_p. 0 = off; drop tokens with probability < minP · max probability; in [0, 1]. */
  readonly minP: number;
  /** HF: repetition_penalty. 1 = off; must be > 0. */
  readonly repetitionPenalty: number;
  /**
   * How many of the most recent tokens (prompt included) the penalty looks at — llama.cpp's
   * `repeat_last_n`. -1 = the whole sequence (HF behaviour), 0 = none.
   */
  readonly repetitionLastN: number;
  /** Seed of the PRNG (an integer in [0, 2^32)). Same seed + same logits → same tokens. */
  readonly seed: number;
}

/** Greedy decoding with no penalty: the defaults of `phi3 generate` (llama.cpp users expect `--temp` 0 to be greedy). */
export const DEFAULT_SAMPLING: SamplingOptions = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  repetitionLastN: 64, // llama.cpp common/common.h: penalty_last_n = 64
  seed: 0,
};

/** Throws `InvalidArgumentError` naming the first bad option value. */
export function validateSamplingOptions(o: SamplingOptions): void {
  const bad = (name: string, value: number, want: string): never => {
    throw new InvalidArgumentError(`invalid ${name} ${value}: must be ${want}`);
  };
  if (!Number.isFinite(o.temperature) || o.temperature < 0) bad('temperature', o.temperature, '≥ 0');
  if (!Number.isInteger(o.topK) || o.topK < 0) bad('top-k', o.topK, 'an integer ≥ 0');
  if (!(o.topP > 0 && o.topP <= 1)) bad('top-p', o.topP, 'in (0, 1]');
  if (!(o.minP >= 0 && o.minP <= 1)) bad('min-p', o.minP, 'in [0, 1]');
  if (!(Number.isFinite(o.repetitionPenalty) && o.repetitionPenalty > 0)) {
    bad('repetition penalty', o.repetitionPenalty, '> 0');
  }
  if (!Number.isInteger(o.repetitionLastN) || o.repetitionLastN < -1) {
    bad('repeat-last-n', o.repetitionLastN, 'an integer ≥ -1');
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32) bad('seed', o.seed, 'an integer in [0, 2^32)');
}

/**
 * HF `RepetitionPenaltyLogitsProcessor`: each distinct token in `recent` gets its logit divided by
 * `penalty` when positive and multiplied when negative (so it always becomes less likely).
 * @param logits [V] f32 (modified)
 * @param recent token ids already in the sequence (the caller picks the window)
 */
export function applyRepetitionPenalty(logits: Float32Array, recent: ArrayLike<number>, penalty: number): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (let i = 0; i < recent.length; i++) {
    const id = recent[i];
    if (seen.has(id) || id < 0 || id >= logits.length) continue;
    seen.add(id);
    logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
  }
}

/** HF `TemperatureLogitsWarper`: logits / t. @param logits [V] f32 (modified) @param t > 0 */
export function applyTemperature(logits: Float32Array, t: number): void {
  if (t === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i] /= t;
}

/**
 * HF `TopKLogitsWarper`: removes every logit below the k-th largest (ties with it survive).
 * @param logits [V] f32 (modified); k ≥ 1 (k ≥ V keeps everything)
 */
export function applyTopK(logits: Float32Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const threshold = topK(logits, k).values[k - 1];
  for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
}

/**
 * HF `TopPLogitsWarper` (nucleus): keeps the smallest set of most-likely tokens whose probability
 * mass is ≥ p (at least one token); the rest get -Infinity.
 * @param logits [V] f32 (modified); p in (0, 1]
 */
export function applyTopP(logits: Float32Array, p: number): void {
  if (p >= 1) return;
  const order = finiteIdsByLogitDescending(logits);
  if (order.length === 0) return;
  const probs = softmaxOf(logits, order);
  let mass = 0;
  let keep = 0;
  while (keep < order.length && (keep === 0 || mass < p)) mass += probs[keep++];
  for (let r = keep; r < order.length; r++) logits[order[r]] = -Infinity;
}

/**
 * HF `MinPLogitsWarper`: removes tokens whose probability is below `minP` times the probability of
 * the most likely token (the most likely token always survives).
 * @param logits [V] f32 (modified); minP in [0, 1]
 */
export function applyMinP(logits: Float32Array, minP: number): void {
  if (minP <= 0) return;
  const max = logits[argmax(logits)];
  // p_i < minP · p_max  ⇔  logit_i < logit_max + ln(minP): no softmax needed.
  const threshold = max + Math.log(minP);
  for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
}

/**
 * Draws a token from softmax(logits) with one uniform number `u` in [0, 1) (inverse CDF).
 * @param logits [V] f32 with at least one finite entry
 */
export function sampleFromLogits(logits: Float32Array, u: number): number {
  const max = logits[argmax(logits)];
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i] - max);
  let target = u * total;
  let last = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === -Infinity) continue;
    last = i;
    target -= Math.exp(logits[i] - max);
    if (target < 0) return i;
  }
  return last; // rounding left a sliver of mass: the last live token takes it
}

/** Picks the next token from a `[V]` logits row, given the tokens so far. */
export type Sampler = (logits: Float32Array, history: readonly number[]) => number;

/**
 * Builds a sampler for `options` (validated here) with its own PRNG state. The input logits are
 * copied to a scratch row, never modified.
 */
export function createSampler(options: SamplingOptions): Sampler {
  validateSamplingOptions(options);
  const rng = createRng(options.seed); // @phi3/tensor mulberry32: reproducible across platforms
  let scratch = new Float32Array(0);
  return (logits, history) => {
    if (scratch.length !== logits.length) scratch = new Float32Array(logits.length);
    scratch.set(logits);
    if (options.repetitionPenalty !== 1) {
      const n = options.repetitionLastN === -1 ? history.length : Math.min(options.repetitionLastN, history.length);
      applyRepetitionPenalty(scratch, history.slice(history.length - n), options.repetitionPenalty);
    }
    if (options.temperature === 0) return argmax(scratch);
    applyTemperature(scratch, options.temperature);
    applyTopK(scratch, options.topK);
    applyTopP(scratch, options.topP);
    applyMinP(scratch, options.minP);
    return sampleFromLogits(scratch, rng.next());
  };
}

/** Ids of the finite logits, largest logit first (ties: lower id first). */
function finiteIdsByLogitDescending(logits: Float32Array): Int32Array {
  let finite = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] !== -Infinity) finite++;
  return topK(logits, finite).indices;
}

/** softmax over `logits[ids]` (ids[0] holds the max), in float64. */
function softmaxOf(logits: Float32Array, ids: Int32Array): Float64Array {
  const out = new Float64Array(ids.length);
  const max = logits[ids[0]];
  let total = 0;
  for (let r = 0; r < ids.length; r++) total += out[r] = Math.exp(logits[ids[r]] - max);
  for (let r = 0; r < ids.length; r++) out[r] /= total;
  return out;
}
