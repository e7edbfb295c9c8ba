/**
 * Request bodies of `/v1/chat/completions` and `/v1/completions` → typed, validated parameters.
 *
 * OpenAI names map onto the library's HF-named sampling options. Like the CLI's options.ts, this
 * file checks only the *form* of a value (a number, an integer, a string); value ranges are checked
 * by the library's `validateSamplingOptions`, one field at a time so the 400 names the field.
 * Defaults are OpenAI's (temperature 1, top_p 1, no token limit but the context), not `phi3
 * generate`'s greedy ones: clients written against the OpenAI API expect them. `top_k`, `min_p`,
 * `repetition_penalty` and `ignore_eos` are accepted as extensions, with vLLM's names.
 */
import { randomInt } from 'node:crypto';
import { DEFAULT_SAMPLING, InvalidArgumentError, validateSamplingOptions, type ChatMessage, type SamplingOptions } from '@phi3/model';
import { invalidParam } from './errors.ts';

/** What both endpoints accept besides the prompt. */
export interface CompletionParams {
  /** The `model` field, if given (checked against the served model by the route). */
  readonly model: string | undefined;
  readonly stream: boolean;
  /** `stream_options.include_usage`: end the stream with a chunk that carries `usage`. */
  readonly includeUsage: boolean;
  /** `max_tokens` (chat also `max_completion_tokens`); undefined = until the context is full. */
  readonly maxTokens: number | undefined;
  readonly sampling: SamplingOptions;
  readonly stop: readonly string[];
  /** vLLM's `ignore_eos` extension: keep generating past EOS tokens (benchmarks, tests). */
  readonly ignoreEos: boolean;
}

export interface ChatParams extends CompletionParams {
  readonly messages: readonly ChatMessage[];
}

export interface TextParams extends CompletionParams {
  readonly prompt: string;
}

/** Largest number of stop sequences (OpenAI: "Up to 4 sequences"). */
const MAX_STOP_SEQUENCES = 4;
const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'developer']);

/** Parses a `/v1/chat/completions` body. @throws ApiError 400 naming the bad field */
export function parseChatParams(body: Record<string, unknown>): ChatParams {
  return { ...parseCommon(body, 'max_completion_tokens'), messages: parseMessages(body.messages) };
}

/** Parses a `/v1/completions` body. @throws ApiError 400 naming the bad field */
export function parseTextParams(body: Record<string, unknown>): TextParams {
  rejectUnsupported(body, { echo: false, best_of: 1, suffix: '' });
  const { prompt } = body;
  if (typeof prompt === 'string') return { ...parseCommon(body), prompt };
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return { ...parseCommon(body), prompt: prompt[0] };
  throw invalidParam('prompt', "'prompt' must be a string (or an array holding exactly one string)");
}

function parseCommon(body: Record<string, unknown>, maxTokensAlias?: string): CompletionParams {
  rejectUnsupported(body, { n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0 });
  if (body.tools !== undefined && body.tools !== null && !(Array.isArray(body.tools) && body.tools.length === 0)) {
    throw invalidParam('tools', 'tools (function calling) are not supported by this server');
  }
  const format = optional(body, 'response_format', 'object');
  if (format !== undefined && format.type !== 'text') throw invalidParam('response_format', "only response_format {type: 'text'} is supported by this server");
  const bias = optional(body, 'logit_bias', 'object');
  if (bias !== undefined && Object.keys(bias).length > 0) throw invalidParam('logit_bias', 'logit_bias is not supported by this server');
  const model = optional(body, 'model', 'string');
  const streamOptions = optional(body, 'stream_options', 'object');
  const maxTokens = optionalInteger(body, 'max_tokens') ?? (maxTokensAlias ? optionalInteger(body, maxTokensAlias) : undefined);
  if (maxTokens !== undefined && maxTokens < 1) throw invalidParam('max_tokens', `'max_tokens' must be at least 1, got ${maxTokens}`);
  const sampling: SamplingOptions = {
    ...DEFAULT_SAMPLING,
    temperature: optional(body, 'temperature', 'number') ?? 1,
    topP: optional(body, 'top_p', 'number') ?? 1,
    topK: optionalInteger(body, 'top_k') ?? DEFAULT_SAMPLING.topK,
    minP: optional(body, 'min_p', 'number') ?? DEFAULT_SAMPLING.minP,
    repetitionPenalty: optional(body, 'repetition_penalty', 'number') ?? DEFAULT_SAMPLING.repetitionPenalty,
    seed: optionalInteger(body, 'seed') ?? randomInt(2 ** 32 - 1), // no seed: a random one, like OpenAI
  };
  checkRanges(sampling, { temperature: 'temperature', topP: 'top_p', topK: 'top_k', minP: 'min_p', repetitionPenalty: 'repetition_penalty', seed: 'seed' });
  return {
    model,
    stream: optional(body, 'stream', 'boolean') ?? false,
    includeUsage: streamOptions?.include_usage === true,
    maxTokens,
    sampling,
    stop: parseStop(body.stop),
    ignoreEos: optional(body, 'ignore_eos', 'boolean') ?? false,
  };
}

/** Runs the library's range checks field by field, so the error names the request field. */
function checkRanges(sampling: SamplingOptions, params: Partial<Record<keyof SamplingOptions, string>>): void {
  for (const [field, param] of Object.entries(params) as [keyof SamplingOptions, string][]) {
    try {
      validateSamplingOptions({ ...DEFAULT_SAMPLING, [field]: sampling[field] });
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw invalidParam(param, `'${param}': ${err.message}`);
      throw err;
    }
  }
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const stops = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string' && s.length > 0) || stops.length > MAX_STOP_SEQUENCES) {
    throw invalidParam('stop', `'stop' must be a non-empty string or an array of up to ${MAX_STOP_SEQUENCES} non-empty strings`);
  }
  return stops as string[];
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidParam('messages', "'messages' must be a non-empty array");
  return value.map((m: unknown, i) => {
    const param = `messages[${i}]`;
    if (typeof m !== 'object' || m === null) throw invalidParam(param, `'${param}' must be an object with 'role' and 'content'`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
      throw invalidParam(`${param}.role`, `'${param}.role' must be one of ${[...CHAT_ROLES].join(', ')}`);
    }
    // 'developer' is OpenAI's newer name for the system role; the chat templates know only 'system'.
    return { role: role === 'developer' ? 'system' : role, content: messageText(content, `${param}.content`) };
  });
}

/** A message's content: a string, or text parts (`[{type: 'text', text}]`) joined by newlines. */
function messageText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part: unknown, i) => {
      const p = part as Record<string, unknown> | null;
      if (p?.type !== 'text' || typeof p.text !== 'string') throw invalidParam(`${param}[${i}]`, `'${param}[${i}]': only text content parts are supported`);
      return p.text;
    }).join('\n');
  }
  throw invalidParam(param, `'${param}' must be a string or an array of text parts`);
}

/** Fields this server does not implement: accepted only at their default (or absent/null). */
function rejectUnsupported(body: Record<string, unknown>, defaults: Record<string, unknown>): void {
  for (const [name, fallback] of Object.entries(defaults)) {
    const value = body[name];
    if (value !== undefined && value !== null && value !== fallback) {
      throw invalidParam(name, `'${name}' = ${JSON.stringify(value)} is not supported by this server (only ${JSON.stringify(fallback)})`);
    }
  }
}

type TypeName = 'string' | 'number' | 'boolean' | 'object';
interface TypeOf { string: string; number: number; boolean: boolean; object: Record<string, unknown> }

/** `body[name]` if present and not null, checked to be of `type`. */
function optional<K extends TypeName>(body: Record<string, unknown>, name: string, type: K): TypeOf[K] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const ok = type === 'object' ? typeof value === 'object' && !Array.isArray(value) : typeof value === type;
  if (!ok || (type === 'number' && !Number.isFinite(value))) throw invalidParam(name, `'${name}' must be a ${type}, got ${JSON.stringify(value)}`);
  return value as TypeOf[K];
}

function optionalInteger(body: Record<string, unknown>, name: string): number | undefined {
  const value = optional(body, name, 'number');
  if (value !== undefined && !Number.isSafeInteger(value)) throw invalidParam(name, `'${name}' must be an integer, got ${value}`);
  return value;
}
