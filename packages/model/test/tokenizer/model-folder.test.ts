// A real model folder (fixtures/phi3-shakespeare-tiny: config.json, generation_config.json and the
// Phi-3 tokenizer files): the prompt ids and generated texts recorded in its reference.json.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/index.ts';

const DIR = fileURLToPath(new URL('../../../../fixtures/phi3-shakespeare-tiny', import.meta.url));
const reference = JSON.parse(readFileSync(`${DIR}/reference.json`, 'utf8')) as {
  cases: { text: string; bos: boolean; input_ids: number[] }[];
  generate: { prompt_text: string; prompt_ids: number[]; expected_ids: number[]; expected_text: string }[];
};

test('encodes the recorded prompts and decodes the recorded generations', () => {
  const tok = loadTokenizer(DIR);
  expect(tok.kind).toBe('sentencepiece-bpe');
  for (const c of reference.cases) expect(tok.encode(c.text, { addBos: c.bos }), c.text).toEqual(c.input_ids);
  for (const g of reference.generate) {
    expect(tok.encode(g.prompt_text), g.prompt_text).toEqual(g.prompt_ids);
    expect(tok.decode(g.expected_ids)).toBe(g.expected_text);
    const stream = tok.createStreamDecoder();
    expect(g.expected_ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe(g.expected_text);
  }
  expect(tok.stopIds).toContain(32000); // generation_config.json eos_token_id
  expect(tok.stopIds).toContain(32007); // <|end|>
});
