/**
 * The JSON objects the OpenAI API returns, for chat (`chat.completion`, `chat.completion.chunk`)
 * and legacy text completions (`text_completion`), one builder per endpoint behind one interface so
 * the streaming and non-streaming paths are written once (openai.ts).
 * Field order and names follow the API reference (platform.openai.com/docs/api-reference/chat).
 */
import { randomUUID } from 'node:crypto';
import type { FinishReason, Usage } from './engine.ts';

/** Builds one endpoint's response objects. */
export interface ResponseShape {
  /** The first stream event before any text (chat announces the assistant role), or null. */
  opening(): object | null;
  /** A stream event carrying new text. */
  delta(text: string): object;
  /** The stream event that ends the choice. */
  finish(reason: FinishReason): object;
  /** The extra last stream event of `stream_options.include_usage` (no choices). */
  usage(usage: Usage): object;
  /** The whole response of a non-streaming request. */
  complete(text: string, reason: FinishReason, usage: Usage): object;
}

interface ShapeOptions {
  readonly model: string;
  /** Add `usage: null` to every chunk, as OpenAI does when `include_usage` is set. */
  readonly includeUsage: boolean;
}

/** `/v1/chat/completions` responses. */
export function chatShape({ model, includeUsage }: ShapeOptions): ResponseShape {
  const head = { id: `chatcmpl-${randomUUID()}`, created: unixNow(), model, system_fingerprint: null };
  const chunk = (delta: object, finishReason: FinishReason | null): object => ({
    ...head,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: () => chunk({ role: 'assistant', content: '' }, null),
    delta: (content) => chunk({ content }, null),
    finish: (reason) => chunk({}, reason),
    usage: (usage) => ({ ...head, object: 'chat.completion.chunk', choices: [], usage }),
    complete: (content, reason, usage) => ({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: reason }],
      usage,
    }),
  };
}

/** `/v1/completions` responses (streamed chunks use the same `text_completion` object). */
export function textShape({ model, includeUsage }: ShapeOptions): ResponseShape {
  const head = { id: `cmpl-${randomUUID()}`, object: 'text_completion', created: unixNow(), model, system_fingerprint: null };
  const chunk = (text: string, finishReason: FinishReason | null): object => ({
    ...head,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: () => null,
    delta: (text) => chunk(text, null),
    finish: (reason) => chunk('', reason),
    usage: (usage) => ({ ...head, choices: [], usage }),
    complete: (text, reason, usage) => ({ ...head, choices: [{ text, index: 0, logprobs: null, finish_reason: reason }], usage }),
  };
}

/** Seconds since the epoch, as OpenAI's `created` fields. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
