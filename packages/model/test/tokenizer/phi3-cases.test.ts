// Phi-3 SentencePiece-BPE from tokenizer.json against the reference ids of fixtures/tokenizers/phi3
// (HF tokenizers' Rust core). The GGUF path has its own file (phi3-gguf.test.ts).
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, readCases, testPhi3ReferenceCases } from './fixtures.ts';

const cases = readCases('phi3/cases.json');
const llamacppCases = readCases('phi3/cases-llamacpp.json');

let tok: Tokenizer;
beforeAll(() => {
  tok = loadTokenizer(PHI3_DIR);
});

describe.each([
  ['cases.json', cases],
  ['cases-llamacpp.json', llamacppCases],
])('phi3 tokenizer.json, %s', (_name, list) => {
  testPhi3ReferenceCases(() => tok, list);

  test('specialAsText gives the reference ids_special_as_text (added-token strings as plain text)', () => {
    for (const c of list.filter((x) => x.ids_special_as_text)) {
      expect(tok.encode(c.text, { specialAsText: true }), c.text).toEqual(c.ids_special_as_text);
    }
  });

  test('idToPiece gives the reference token strings, pieceToId inverts it', () => {
    for (const c of list) {
      expect(c.ids.map((id) => tok.idToPiece(id)), c.text).toEqual(c.tokens);
      expect(c.tokens!.map((p) => tok.pieceToId(p)), c.text).toEqual(c.ids);
    }
  });
});

test('plain text round-trips: decode(encode(s)) === s for every case without added-token strings', () => {
  const plain = cases.filter((c) => !/<s>|<\/s>|<unk>|<\|[a-z0-9]+\|>/.test(c.text));
  expect(plain.length).toBeGreaterThan(200);
  for (const c of plain) expect(tok.decode(tok.encode(c.text))).toBe(c.text);
});

test('role tokens swallow the whitespace after them (rstrip), </s> too, <s> and <|endoftext|> do not', () => {
  expect(tok.encode('<|user|>\nHello')).toEqual([32010, 15043]);
  expect(tok.encode('<|user|> \u0085\u3000\tHello')).toEqual([32010, 15043]); // Unicode White_Space
  expect(tok.encode('<|user|>\uFEFFHello')[1]).not.toBe(15043); // U+FEFF is not whitespace
  expect(tok.encode('</s> x')).toEqual([2, 921]);
  expect(tok.encode('<s> x')).toEqual([1, 29871, 921]);
  expect(tok.encode('<|endoftext|> x')).toEqual([32000, 29871, 921]);
  expect(tok.encode('before <|end|> after')).toEqual([1434, 29871, 32007, 1156]);
});

test('BOS, stop ids and settings from the tokenizer folder', () => {
  expect(tok.bosId).toBe(1);
  expect(tok.encode('hello', { addBos: true })).toEqual([1, 22172]);
  expect(tok.encode('hello')).toEqual([22172]);
  expect(tok.encode('')).toEqual([]);
  expect(tok.addBosByDefault).toBe(false); // tokenizer_config.json add_bos_token: false
  expect(tok.eosId).toBe(32000);
  expect(tok.stopIds).toEqual([32000, 32007]); // eos ∪ <|end|>
  expect(tok.vocabSize).toBe(32011);
  expect(() => tok.idToPiece(32011)).toThrow(/not in the vocabulary/);
  expect(tok.isSpecial(32007)).toBe(true);
  expect(tok.isSpecial(2)).toBe(false); // </s> has special: false in tokenizer.json
  expect(tok.decode([32010, 15043, 32007, 32001])).toBe('<|user|> Hello<|end|><|assistant|>');
  expect(tok.decode([32010, 15043, 99999])).toBe('<|user|> Hello'); // unknown ids are skipped, as in HF
});
