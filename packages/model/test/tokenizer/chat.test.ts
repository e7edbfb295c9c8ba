// Chat templates: every chat_examples.json entry (4 Phi-3 templates + Phi-3-small × 7
// conversations) renders to the reference prompt and encodes to the reference ids.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizer, renderChat, PHI3_CHAT_TEMPLATE, PHI3_SMALL_CHAT_TEMPLATE, type Tokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, PHI3_GGUF, PHI3_SMALL_DIR, readJson, type ChatExample } from './fixtures.ts';

interface ChatFile {
  templates: Record<string, { template: string; bos_token: string; eos_token: string }>;
  examples: ChatExample[];
}
const phi3 = readJson<ChatFile>('phi3/chat_examples.json');
const small = readJson<ChatFile>('phi3small/chat_examples.json');

let phi3Json: Tokenizer;
let phi3Small: Tokenizer;
beforeAll(() => {
  phi3Json = loadTokenizer(PHI3_DIR);
  phi3Small = loadTokenizer(PHI3_SMALL_DIR);
});

describe.each([
  ['phi3', phi3, () => phi3Json],
  ['phi3small', small, () => phi3Small],
])('%s chat_examples.json', (_name, file, tokenizer) => {
  test.each(file.examples.map((e) => [`${e.model} / ${e.conversation}`, e] as const))('%s', (_label, example) => {
    const tok = tokenizer();
    const template = file.templates[example.model];
    expect(template.bos_token).toBe(tok.bosToken);
    expect(template.eos_token).toBe(tok.eosToken);
    const prompt = renderChat(tok, example.messages, { addGenerationPrompt: example.add_generation_prompt, template: template.template });
    expect(prompt).toBe(example.prompt);
    expect(tok.encode(prompt)).toEqual(example.ids);
    expect(tok.decode(example.ids)).toBe(example.decoded);
  });
});

test("the checkpoint's own template is used: tokenizer_config.json and GGUF tokenizer.chat_template", () => {
  const messages = [{ role: 'user', content: 'Hello' }];
  expect(renderChat(phi3Json, messages)).toBe('<|user|>\nHello<|end|>\n<|assistant|>\n');
  expect(renderChat(loadTokenizer(PHI3_GGUF), messages)).toBe('<s><|user|>\nHello<|end|>\n<|assistant|>\n');
  expect(renderChat(phi3Small, messages, { addGenerationPrompt: false })).toBe('<|endoftext|><|user|>\nHello<|end|>\n<|endoftext|>');
});

test('built-in fallbacks are the Phi-3.5-mini and Phi-3-small templates of the fixtures', () => {
  expect(PHI3_CHAT_TEMPLATE).toBe(phi3.templates['phi-3.5-mini-instruct'].template);
  expect(PHI3_SMALL_CHAT_TEMPLATE).toBe(small.templates['phi-3-small-8k/128k-instruct'].template);
});

test('the system option prepends a system message; a broken template is a TokenizerError', () => {
  expect(renderChat(phi3Json, [{ role: 'user', content: 'Hi' }], { system: 'Be brief.' })).toBe(
    '<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n',
  );
  expect(() => renderChat(phi3Json, [], { template: '{% for %}' })).toThrow(/chat template/);
});
