// Request bodies → typed parameters: OpenAI defaults, name mapping onto the library's sampling
// options, accepted shapes of messages/prompt/stop, and 400s that name the offending field.
import { DEFAULT_SAMPLING } from '@phi3/model';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../src/server/errors.ts';
import { parseChatParams, parseTextParams } from '../../src/server/requests.ts';

const user = [{ role: 'user', content: 'hi' }];

function paramOfError(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    return (err as ApiError).param;
  }
  throw new Error('expected a 400');
}

describe('parseChatParams / parseTextParams', () => {
  test('OpenAI defaults: temperature 1, top_p 1, a random seed, no token limit, no stop, not streamed', () => {
    const p = parseChatParams({ messages: user });
    expect(p).toMatchObject({ model: undefined, stream: false, includeUsage: false, maxTokens: undefined, stop: [], ignoreEos: false });
    expect(p.sampling).toMatchObject({ ...DEFAULT_SAMPLING, temperature: 1, topP: 1, seed: p.sampling.seed });
    expect(Number.isInteger(p.sampling.seed) && p.sampling.seed >= 0 && p.sampling.seed < 2 ** 32).toBe(true);
  });

  test('maps OpenAI and vLLM names onto the library options', () => {
    const p = parseTextParams({
      prompt: ['ROMEO:'], model: 'm', stream: true, stream_options: { include_usage: true }, max_tokens: 5, temperature: 0.5,
      top_p: 0.9, seed: 3, top_k: 40, min_p: 0.05, repetition_penalty: 1.1, stop: 'END', ignore_eos: true, n: 1, echo: false,
      logit_bias: {}, response_format: { type: 'text' },
    });
    expect(p).toMatchObject({ prompt: 'ROMEO:', model: 'm', stream: true, includeUsage: true, maxTokens: 5, stop: ['END'], ignoreEos: true });
    expect(p.sampling).toEqual({ ...DEFAULT_SAMPLING, temperature: 0.5, topP: 0.9, seed: 3, topK: 40, minP: 0.05, repetitionPenalty: 1.1 });
  });

  test('messages: text parts are joined, developer is the system role, null content is empty', () => {
    const p = parseChatParams({
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'assistant', content: null },
      ],
      max_completion_tokens: 7,
    });
    expect(p.messages).toEqual([{ role: 'system', content: 'rules' }, { role: 'user', content: 'a\nb' }, { role: 'assistant', content: '' }]);
    expect(p.maxTokens).toBe(7);
  });

  test('400s name the field', () => {
    expect(paramOfError(() => parseTextParams({ prompt: [1, 2, 3] }))).toBe('prompt');
    expect(paramOfError(() => parseTextParams({ prompt: 'x', echo: true }))).toBe('echo');
    expect(paramOfError(() => parseTextParams({ prompt: 'x', max_completion_tokens: 0, max_tokens: 1.5 }))).toBe('max_tokens');
    expect(paramOfError(() => parseChatParams({ messages: user, stream: 'yes' }))).toBe('stream');
    expect(paramOfError(() => parseChatParams({ messages: user, seed: 2 ** 32 }))).toBe('seed');
    expect(paramOfError(() => parseChatParams({ messages: user, top_k: -1 }))).toBe('top_k');
    expect(paramOfError(() => parseChatParams({ messages: user, presence_penalty: 0.5 }))).toBe('presence_penalty');
    expect(paramOfError(() => parseChatParams({ messages: user, tools: [{ type: 'function' }] }))).toBe('tools');
    expect(paramOfError(() => parseChatParams({ messages: [user[0], 'hi'] }))).toBe('messages[1]');
    expect(paramOfError(() => parseChatParams({ messages: user, response_format: { type: 'json_object' } }))).toBe('response_format');
    expect(paramOfError(() => parseChatParams({ messages: user, logit_bias: { 50256: -100 } }))).toBe('logit_bias');
    expect(paramOfError(() => parseChatParams({ messages: user, stop: 5 }))).toBe('stop');
    expect(paramOfError(() => parseChatParams({ messages: user, model: 42 }))).toBe('model');
  });
});
