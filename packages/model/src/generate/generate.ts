/**
 * The generation loop: prefill the prompt, then sample → feed → sample … one token at a time,
 * streaming text as it becomes printable. Model code never samples or decodes (STYLE.md §1.7);
 * this loop is where logits, sampling, the detokenizer and stop conditions meet
 * (the counterpart of mlx_lm `generate_step` / HF `GenerationMixin._sample`).
 *
 * Context policy (what llama.cpp users expect): a prompt that does not leave room for one new token
 * is an error (`ContextLengthError`, like llama-cli's "prompt is too long"); a request for more
 * tokens than the context holds is not — generation stops when the context is full, with
 * `stopReason: 'context'` (llama-cli's "context full, stopping generation").
 */
import { ContextLengthError, InvalidArgumentError } from '../errors.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { createSampler, type SamplingOptions } from './sampling.ts';
import { createStopStringFilter } from './stopping.ts';

/** What the loop needs from an inference session (`session.ts` provides it). */
export interface LogitsSession {
  /**
   * Appends `tokens` to the sequence (KV cache) and returns the logits of the last one.
   * @returns [V] f32; the loop copies what it keeps before the next call
   */
  feed(tokens: readonly number[]): Float32Array | Promise<Float32Array>;
}

/** What the loop needs from the tokenizer's streaming detokenizer. */
export interface TextStream {
  /** Text made printable by `token` ('' while a multi-byte character or a leading space is pending). */
  push(token: number): string;
  /** Whatever is still pending at the end. */
  flush(): string;
}

/**
 * The text stream for tokens generated after `shownIds` (the prompt, plus in chat the earlier turns):
 * it prints decode(shown + generated) − decode(shown), so a first generated `▁not` after
 * "ROMEO: I will" prints " not". Control tokens (`<|end|>`, `<|assistant|>`, …) are not printed.
 * This is what llama.cpp prints (token_to_piece keeps the ▁ space), what HF's text-generation
 * pipeline returns with return_full_text=False (it slices decode(all) after decode(prompt)) and what
 * vLLM's incremental detokenizer emits. HF's TextStreamer(skip_prompt=True) decodes the new ids
 * alone, so its SentencePiece Strip decoder drops that space (transformers#22710, #28776).
 * `phi3 generate`, `phi3 chat` and `phi3 serve` all stream through this one function.
 * @param shownIds every id before the first generated one (history + prompt)
 */
export function createContinuationStream(tokenizer: Pick<Tokenizer, 'createStreamDecoder'>, shownIds: readonly number[]): TextStream {
  return tokenizer.createStreamDecoder({ skipSpecial: true, prefix: shownIds });
}

/** Why generation ended. */
export type StopReason = 'eos' | 'stop' | 'length' | 'context';

/** Running statistics, updated with every step. Times in seconds. */
export interface GenerationStats {
  /** Tokens prefilled by this call. */
  promptTokens: number;
  /** Prefill time, including sampling the first new token (time to first token). */
  prefillSeconds: number;
  /** Tokens generated so far (an EOS token counts). */
  generatedTokens: number;
  /** Time from the first to the latest generated token: covers `generatedTokens - 1` decode steps. */
  decodeSeconds: number;
  /** promptTokens / prefillSeconds */
  promptTokensPerSecond: number;
  /** (generatedTokens - 1) / decodeSeconds — decode steps only, the prefill is not counted twice. */
  decodeTokensPerSecond: number;
  /** Set on the last step; null while running (and when the caller aborted). */
  stopReason: StopReason | null;
}

/** One generated token and the text it made printable. */
export interface GenerationStep {
  readonly token: number;
  /** May be '' (text held back by the detokenizer or a possible stop string). */
  readonly text: string;
  /** A snapshot of the statistics after this token. */
  readonly stats: Readonly<GenerationStats>;
}

export interface GenerateRequest {
  /** Tokens to prefill now: the whole prompt, or in chat only what the cache does not hold yet. */
  readonly promptIds: readonly number[];
  /** Tokens already in the session's cache before this call (repetition penalty window, context). */
  readonly history?: readonly number[];
  /** HF: max_new_tokens (≥ 1). */
  readonly maxNewTokens: number;
  /** The longest sequence the session can hold (prompt + generated). */
  readonly contextLength: number;
  readonly sampling: SamplingOptions;
  /** Token ids that end generation (see `collectEosIds`); not printed. */
  readonly eosIds: ReadonlySet<number>;
  /** Keep going past EOS ids (they are then printed like any token). */
  readonly ignoreEos?: boolean;
  /** Stop before any of these strings; they are not printed. */
  readonly stop?: readonly string[];
  /** Checked between tokens: when aborted, the generator returns without a further step. */
  readonly signal?: AbortSignal;
}

/**
 * Streams generated tokens. The session's cache afterwards holds history + prompt + every
 * generated token except the last one (it was sampled, never fed): callers that continue the
 * conversation feed it first (chat does).
 * @throws ContextLengthError when the prompt leaves no room for a new token
 * @throws InvalidArgumentError for bad sampling options or maxNewTokens
 */
export async function* generate(
  session: LogitsSession,
  text: TextStream,
  request: GenerateRequest,
): AsyncGenerator<GenerationStep, void> {
  const { promptIds, maxNewTokens, contextLength, eosIds } = request;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new InvalidArgumentError(`invalid max new tokens ${maxNewTokens}: must be an integer ≥ 1`);
  }
  const sample = createSampler(request.sampling);
  const stopFilter = createStopStringFilter(request.stop ?? []);
  const sequence = [...(request.history ?? []), ...promptIds];
  if (promptIds.length === 0) throw new InvalidArgumentError('empty prompt: nothing to generate from');
  if (sequence.length >= contextLength) {
    throw new ContextLengthError(
      `prompt is too long: ${sequence.length} tokens leave no room in the context of ${contextLength} tokens`,
    );
  }
  // Every generated token but the last is fed back, so the sequence may grow to contextLength.
  const budget = Math.min(maxNewTokens, contextLength - sequence.length);
  const stats: GenerationStats = {
    promptTokens: promptIds.length, prefillSeconds: 0, generatedTokens: 0, decodeSeconds: 0,
    promptTokensPerSecond: 0, decodeTokensPerSecond: 0, stopReason: null,
  };

  const start = performance.now();
  let logits = await session.feed(promptIds);
  let firstTokenAt = 0;
  for (;;) {
    const token = sample(logits, sequence);
    sequence.push(token);
    const now = performance.now();
    stats.generatedTokens++;
    if (stats.generatedTokens === 1) {
      firstTokenAt = now;
      stats.prefillSeconds = (now - start) / 1000;
      stats.promptTokensPerSecond = rate(stats.promptTokens, stats.prefillSeconds);
    } else {
      stats.decodeSeconds = (now - firstTokenAt) / 1000;
      stats.decodeTokensPerSecond = rate(stats.generatedTokens - 1, stats.decodeSeconds);
    }

    const isEos = !request.ignoreEos && eosIds.has(token);
    const step = isEos ? { text: '', stopped: false } : stopFilter.push(text.push(token));
    if (isEos) stats.stopReason = 'eos';
    else if (step.stopped) stats.stopReason = 'stop';
    else if (stats.generatedTokens >= budget) stats.stopReason = budget < maxNewTokens ? 'context' : 'length';

    if (stats.stopReason === null) {
      yield { token, text: step.text, stats: { ...stats } };
    } else {
      let tail = '';
      if (stats.stopReason !== 'stop') {
        // The detokenizer's held-back text can still complete a stop string.
        const end = stopFilter.push(text.flush());
        tail = end.stopped ? end.text : end.text + stopFilter.flush();
        if (end.stopped) stats.stopReason = 'stop';
      }
      yield { token, text: step.text + tail, stats: { ...stats } };
      return;
    }
    // Give the event loop a turn (Ctrl-C, output flushing): for-await alone only runs microtasks.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (request.signal?.aborted) return;
    logits = await session.feed([token]);
  }
}

function rate(tokens: number, seconds: number): number {
  return seconds > 0 ? tokens / seconds : 0;
}
