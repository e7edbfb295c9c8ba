// Phi-3 SentencePiece-BPE from the llama.cpp GGUF (tokenizer.ggml.* metadata, score-based merging):
// the same reference ids as the tokenizer.json path, and llama.cpp's own vocab test.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, PHI3_GGUF, readCases, readText, testPhi3ReferenceCases } from './fixtures.ts';

let tok: Tokenizer;
beforeAll(() => {
  tok = loadTokenizer(PHI3_GGUF);
});

describe.each(['phi3/cases.json', 'phi3/cases-llamacpp.json'])('phi3 GGUF, %s', (file) => {
  testPhi3ReferenceCases(() => tok, readCases(file));
});

test("reproduces llama.cpp's own vocab test (.inp inputs → .out ids, no BOS)", () => {
  const inputs = readText('phi3/llamacpp/ggml-vocab-phi-3.gguf.inp').split('\n__ggml_vocab_test__\n').slice(0, -1);
  const outputs = readText('phi3/llamacpp/ggml-vocab-phi-3.gguf.out').split('\n').slice(0, inputs.length);
  expect(inputs.length).toBe(46);
  inputs.forEach((text, i) => {
    const expected = outputs[i].trim() === '' ? [] : outputs[i].trim().split(' ').map(Number);
    expect(tok.encode(text), text).toEqual(expected);
  });
});

test('settings from GGUF metadata', () => {
  expect(tok.bosId).toBe(1);
  expect(tok.addBosByDefault).toBe(true); // tokenizer.ggml.add_bos_token = true (2024-04 release)
  expect(tok.eosId).toBe(32000);
  expect(tok.stopIds).toEqual([32000, 32007]);
  expect(tok.vocabSize).toBe(32064);
  expect(tok.idToPiece(32063)).toBe('[PAD32063]');
  expect(tok.encode('[PAD32063]')).not.toContain(32063); // placeholders are not added tokens
  expect(tok.isSpecial(32010)).toBe(true);
  expect(tok.isSpecial(2)).toBe(false); // </s> is a user-defined token in the GGUF
  expect(tok.chatTemplate).toMatch(/^\{\{ bos_token \}\}/);
});

test('score-based merging (GGUF) equals merge-rank BPE (tokenizer.json) on random whitespace-heavy text', () => {
  const fromJson = loadTokenizer(PHI3_DIR);
  const part = fc.oneof(
    fc.constantFrom(' ', '  ', '    ', '\t', '\n', '\r\n', '\u00A0', '\u3000', '\uFEFF', '<|user|>', '<|end|>\n', '</s>', '<s>'),
    fc.string({ unit: 'binary', maxLength: 5 }),
    fc.constantFrom('the', 'ing', 'Hello', '中文', '🦙', 'é', '123', '▁'),
  );
  fc.assert(
    fc.property(fc.array(part, { maxLength: 20 }), (parts) => {
      const s = parts.join('');
      expect(tok.encode(s)).toEqual(fromJson.encode(s));
    }),
    { seed: 4242, numRuns: 500 },
  );
});
