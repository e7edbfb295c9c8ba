/**
 * An inference session: one sequence, its KV cache, and the variant's generation policy at the
 * LongRoPE switch. verify, generate, chat and serve all decode through `feed`.
 */
import type { TapFn } from './decoder.ts';
import { ContextLengthError, InvalidArgumentError } from './errors.ts';
import type { KvCache } from './layers/kv-cache.ts';
import type { Model } from './model.ts';

export interface SessionOptions {
  /** Longest sequence the session may hold (default: the model's max_position_embeddings). */
  readonly maxTokens?: number;
}

export interface FeedOptions {
  /** Return logits of every fed token ([T, V]) instead of the last one ([V]). */
  readonly allLogits?: boolean;
  /** Intermediate-tensor hook, passed to the decoder. */
  readonly tap?: TapFn;
  /** Input embeddings [T, D] f32 replacing the token lookup for these tokens (vision). Kept for cache rebuilds. */
  readonly embeddings?: Float32Array;
}

/** Input embeddings the caller supplied for positions [start, start + T) (vision), kept for cache rebuilds. */
interface EmbeddedRun {
  readonly start: number;
  /** [T, D] f32 */
  readonly embeddings: Float32Array;
}

export class InferenceSession {
  readonly cache: KvCache;
  /** Every token id fed so far: the sequence the cache holds. */
  private history: number[] = [];
  /** Only the positions whose embeddings came from the caller; every other position is its token's lookup. */
  private embeddedRuns: EmbeddedRun[] = [];

  constructor(
    readonly model: Model,
    opts: SessionOptions = {},
  ) {
    this.cache = model.createCache(opts.maxTokens ?? model.config.maxPositionEmbeddings);
  }

  /** Number of positions in the sequence so far. */
  get length(): number {
    return this.history.length;
  }

  /** The token ids fed so far. */
  get tokens(): readonly number[] {
    return this.history;
  }

  /**
   * Appends tokens and returns their logits. Decodes incrementally with the cache, except that the
   * first time the total length passes the variant's `rebuildCacheAbove`, the cache is dropped and the
   * whole sequence re-run causally (HF Phi-3 generate(); equals a full recompute for Phi-3).
   * @param tokens [T] ids, T >= 1, each in [0, V)
   * @returns [V] f32 logits of the last token, or [T, V] f32 with `allLogits`
   */
  feed(tokens: readonly number[], opts: FeedOptions = {}): Float32Array {
    const { vocabSize: V, hiddenSize: D } = this.model.config;
    if (tokens.length === 0) throw new InvalidArgumentError('feed: no tokens');
    for (const id of tokens) {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new InvalidArgumentError(`token id ${id} is outside the vocabulary [0, ${V})`);
    }
    if (opts.embeddings !== undefined && opts.embeddings.length !== tokens.length * D) {
      throw new InvalidArgumentError(`embeddings hold ${opts.embeddings.length} floats, expected ${tokens.length} × ${D}`);
    }
    const total = this.cache.length + tokens.length;
    if (total > this.cache.maxTokens) {
      throw new ContextLengthError(`sequence of ${total} tokens exceeds the context length of ${this.cache.maxTokens}`);
    }
    const run = opts.embeddings === undefined ? undefined : { start: this.history.length, embeddings: opts.embeddings.slice() };
    const threshold = this.model.decoder.rebuildCacheAbove;
    const rebuild = threshold !== null && this.cache.length > 0 && this.cache.length <= threshold && total > threshold;
    let logits: Float32Array;
    if (rebuild) {
      const ids = [...this.history, ...tokens];
      const runs = run === undefined ? this.embeddedRuns : [...this.embeddedRuns, run];
      const embeddings = runs.length > 0 ? this.inputEmbeddings(ids, runs) : undefined;
      this.cache.truncate(0);
      let full: Float32Array;
      try {
        full = this.model.forward(ids, this.cache, { allLogits: opts.allLogits, tap: opts.tap, embeddings });
      } catch (err) {
        this.reset(); // the old cache rows are already overwritten: forget the sequence rather than keep a corrupt one
        throw err;
      }
      logits = opts.allLogits ? full.subarray((ids.length - tokens.length) * V) : full;
    } else {
      logits = this.model.forward(tokens, this.cache, opts);
    }
    if (run !== undefined) this.embeddedRuns.push(run);
    for (const id of tokens) this.history.push(id); // decode feeds one token: no per-token array or record
    return logits;
  }

  /** Longest sequence this session can hold. */
  get maxTokens(): number {
    return this.cache.maxTokens;
  }

  /**
   * Keeps the first n positions and forgets the rest (chat reuses a shared prompt prefix). If the
   * cache already carries long-rotated keys from a LongRoPE rebuild but n is back below the switch,
   * the prefix is recomputed, so the state always equals feeding those n tokens afresh.
   */
  truncate(n: number): void {
    if (n >= this.length) return;
    const { hiddenSize: D } = this.model.config;
    const kept = this.embeddedRuns
      .filter((r) => r.start < n)
      .map((r) => (r.start + r.embeddings.length / D <= n ? r : { start: r.start, embeddings: r.embeddings.slice(0, (n - r.start) * D) }));
    const ids = this.history.slice(0, n);
    const threshold = this.model.decoder.rebuildCacheAbove;
    if (threshold !== null && this.cache.length > threshold && n <= threshold) {
      const embeddings = kept.length > 0 ? this.inputEmbeddings(ids, kept) : undefined;
      this.reset();
      if (n > 0) this.feed(ids, { embeddings }); // one causal forward over the prefix, below the switch
      this.embeddedRuns = kept; // remember only the caller's embeddings, not the lookups filled in around them
      return;
    }
    this.cache.truncate(n);
    this.embeddedRuns = kept;
    this.history = ids;
  }

  /** Forgets the whole sequence (the cache buffers are kept for reuse). */
  reset(): void {
    this.cache.truncate(0);
    this.embeddedRuns = [];
    this.history = [];
  }

  /** [S, D] f32 input embeddings of `ids`: the caller's within `runs`, the token lookup elsewhere. */
  private inputEmbeddings(ids: readonly number[], runs: readonly EmbeddedRun[]): Float32Array {
    const { hiddenSize: D } = this.model.config;
    const out = this.model.decoder.embed(ids);
    for (const r of runs) out.set(r.embeddings, r.start * D);
    return out;
  }
}
