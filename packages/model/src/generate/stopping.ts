/**
 * When generation stops: end-of-sequence token ids and user stop strings.
 *
 * EOS ids are a union, never a replacement: Phi-3 instruct checkpoints list `32000`
 * (`<|endoftext|>`) in config.json but end chat turns with `<|end|>` (32007), which only
 * generation_config.json (`eos_token_id: [32000, 32001, 32007]`) or the tokenizer knows about.
 * Taking one source alone makes chat replies run on past the end of the turn.
 */
import { InvalidArgumentError } from '../errors.ts';

/** An `eos_token_id` as HF stores it: one id, a list, or absent. */
export type EosSource = number | readonly number[] | null | undefined;

/**
 * The union of every EOS id source (config.json `eos_token_id`, generation_config.json
 * `eos_token_id`, the tokenizer's stop tokens such as `<|end|>`).
 */
export function collectEosIds(...sources: readonly EosSource[]): Set<number> {
  const ids = new Set<number>();
  for (const source of sources) {
    if (source === null || source === undefined) continue;
    for (const id of typeof source === 'number' ? [source] : source) {
      if (Number.isInteger(id) && id >= 0) ids.add(id);
    }
  }
  return ids;
}

/** What a stop-string filter lets through for one chunk of text. */
export interface StopFilterStep {
  /** Text that is safe to print now (never part of a stop string). */
  readonly text: string;
  /** A stop string was completed: print `text`, then stop generating. */
  readonly stopped: boolean;
}

/** Streams text and cuts it before the first stop string; see `createStopStringFilter`. */
export interface StopStringFilter {
  /** Adds the next decoded chunk. */
  push(chunk: string): StopFilterStep;
  /** End of generation without a stop string: returns the held-back text. */
  flush(): string;
}

/**
 * Holds back the longest tail of the text that could still become a stop string, so a stop
 * string split over several tokens is never printed (llama.cpp `find_partial_stop_string`
 * does the same). The stop string itself is not printed.
 * @param stops non-empty strings; none = pass everything through
 */
export function createStopStringFilter(stops: readonly string[]): StopStringFilter {
  for (const s of stops) if (s.length === 0) throw new InvalidArgumentError('invalid stop string "": must not be empty');
  let pending = '';
  let done = false;
  return {
    push(chunk) {
      if (done) return { text: '', stopped: true };
      pending += chunk;
      const cut = firstStopIndex(pending, stops);
      if (cut >= 0) {
        const text = pending.slice(0, cut);
        pending = '';
        done = true;
        return { text, stopped: true };
      }
      const hold = longestPartialStop(pending, stops);
      const text = pending.slice(0, pending.length - hold);
      pending = pending.slice(pending.length - hold);
      return { text, stopped: false };
    },
    flush() {
      const text = pending;
      pending = '';
      return text;
    },
  };
}

/** Earliest index where any stop string starts in `text`, or -1. */
function firstStopIndex(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function longestPartialStop(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
      if (text.endsWith(s.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
