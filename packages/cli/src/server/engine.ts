/**
 * The model being served: its weights (loaded once, shared), `--parallel` slots each owning an
 * inference session with its own KV cache, and the queue in front of them. A generation leases a
 * slot, runs the library's `generate` loop (the same one `phi3 generate` runs, so the same prompt,
 * seed and settings give the same text) and gives the slot back with its cache emptied.
 *
 * Everything runs on the one JavaScript thread: active generations take turns token by token
 * (`generate` yields to the event loop after every token), so `--parallel` trades per-request speed
 * for fairness and time to first token, not total throughput.
 */
import { InferenceSession, createContinuationStream, generate, type GenerationStats, type SamplingOptions } from '@phi3/model';
import type { OpenedModel } from '../load-model.ts';
import { SlotPool } from './queue.ts';

export interface EngineOptions {
  /** Positions each session holds (`--ctx-size`); at most the model's context length. */
  readonly contextLength: number;
  /** Generations running at once (`--parallel`). */
  readonly parallel: number;
  /** Requests that may wait for a slot before the server answers 503. */
  readonly queueSize: number;
}

/** One generation request, already tokenized. */
export interface GenerationJob {
  readonly promptIds: readonly number[];
  /** undefined = until EOS, a stop string, or the context is full. */
  readonly maxTokens: number | undefined;
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  readonly ignoreEos: boolean;
}

/** OpenAI's finish reasons: `stop` (EOS or a stop string) or `length` (max_tokens or the context). */
export type FinishReason = 'stop' | 'length';

/** OpenAI's `usage` record. */
export interface Usage {
  readonly prompt_tokens: number;
  /** Generated tokens, an EOS token included (it was sampled like any other). */
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export interface GenerationResult {
  readonly finishReason: FinishReason;
  readonly usage: Usage;
}

/** Counters for `/health`. */
export interface EngineStats {
  readonly slots: number;
  readonly busy: number;
  readonly queued: number;
  readonly completed: number;
  readonly aborted: number;
}

export class Engine {
  private readonly pool: SlotPool<InferenceSession>;
  private completed = 0;
  private aborted = 0;

  constructor(
    readonly opened: OpenedModel,
    readonly options: EngineOptions,
  ) {
    const { model } = opened;
    this.pool = new SlotPool(() => new InferenceSession(model, { maxTokens: options.contextLength }), options.parallel, options.queueSize);
  }

  get stats(): EngineStats {
    return { slots: this.pool.slots, busy: this.pool.busy, queued: this.pool.queued, completed: this.completed, aborted: this.aborted };
  }

  /**
   * Waits for a slot, then generates, calling `onStep` with each step's new text ('' when the
   * detokenizer or a possible stop string holds text back). Awaiting `onStep` pauses generation
   * (backpressure from a slow client).
   * @returns the finish reason and token counts, or null when `signal` aborted the generation
   * @throws ApiError 503 when the queue is full; AcquireAbortedError when aborted while queued;
   *         ContextLengthError / InvalidArgumentError from the library (before the first step)
   */
  async run(job: GenerationJob, signal: AbortSignal, onStep: (text: string) => Promise<void> | void): Promise<GenerationResult | null> {
    const lease = await this.pool.acquire(signal);
    const session = lease.value;
    const { tokenizer, eosIds } = this.opened;
    const { contextLength } = this.options;
    try {
      let last: GenerationStats | null = null;
      for await (const step of generate(session, createContinuationStream(tokenizer, job.promptIds), {
        promptIds: job.promptIds, maxNewTokens: job.maxTokens ?? contextLength, contextLength,
        sampling: job.sampling, eosIds, stop: job.stop, ignoreEos: job.ignoreEos, signal,
      })) {
        await onStep(step.text);
        last = step.stats;
      }
      if (last === null || last.stopReason === null) {
        this.aborted++; // generate() returned early because `signal` aborted
        return null;
      }
      this.completed++;
      const finishReason: FinishReason = last.stopReason === 'eos' || last.stopReason === 'stop' ? 'stop' : 'length';
      const usage = { prompt_tokens: job.promptIds.length, completion_tokens: last.generatedTokens, total_tokens: job.promptIds.length + last.generatedTokens };
      return { finishReason, usage };
    } finally {
      session.reset(); // free the slot's cache for the next request
      lease.release();
    }
  }
}
