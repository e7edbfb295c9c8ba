// Phi-3-small tiktoken BPE against fixtures/tokenizers/phi3small (tiktoken's Rust core), the
// special-token table against encoding.json, and the shipped cl100k_base asset.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { CL100K_PATTERN, phi3SmallSpecialTokens } from '../../src/tokenizer/cl100k.ts';
import { loadTokenizer, SHIPPED_CL100K_PATH, type Tokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_SMALL_DIR, readCases, readJson } from './fixtures.ts';

const cases = readCases('phi3small/cases.json');

let tok: Tokenizer; // the 100k-rank load happens once per file
beforeAll(() => {
  tok = loadTokenizer(PHI3_SMALL_DIR);
});

test('encode gives the reference ids for every case', () => {
  const mismatches = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids));
  expect(mismatches.map((c) => c.text)).toEqual([]);
});

test('specialAsText gives the reference ids_special_as_text (encode_ordinary)', () => {
  const withSpecials = cases.filter((c) => c.ids_special_as_text);
  expect(withSpecials.length).toBeGreaterThan(20);
  for (const c of withSpecials) expect(tok.encode(c.text, { specialAsText: true }), c.text).toEqual(c.ids_special_as_text);
});

test('decode gives the reference text (incl. a leading U+FEFF) and every case round-trips', () => {
  for (const c of cases) {
    expect(tok.decode(c.ids), c.text).toBe(c.decoded);
    expect(tok.decode(tok.encode(c.text)), c.text).toBe(c.text);
  }
});

test("each id's bytes are the reference token bytes", () => {
  for (const c of cases) {
    const decodedTokens = c.ids.map((id) => tok.decode([id]));
    const reference = c.token_bytes_b64!.map((b) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(Buffer.from(b, 'base64')));
    expect(decodedTokens, c.text).toEqual(reference);
  }
});

test('the built-in special-token table equals encoding.json (tokenization_phi3_small.py)', () => {
  const encoding = readJson<{ special_tokens: Record<string, number> }>('phi3small/encoding.json');
  expect(Object.fromEntries(phi3SmallSpecialTokens())).toEqual(encoding.special_tokens);
});

test('shipped assets/cl100k_base.tiktoken is the pinned OpenAI file', () => {
  const sha = createHash('sha256').update(readFileSync(SHIPPED_CL100K_PATH)).digest('hex');
  expect(sha).toBe('223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7');
});

test('special tokens are not stripped around; BOS, stop ids, vocabulary size', () => {
  expect(tok.encode('<|user|>\nHello')).toEqual([100262, 198, 9906]);
  expect(tok.bosId).toBe(100257);
  expect(tok.eosId).toBe(100257);
  expect(tok.encode('Hello', { addBos: true })).toEqual([100257, 9906]);
  expect(tok.stopIds).toEqual([100257, 100266]);
  expect(tok.vocabSize).toBe(100352);
  expect(tok.idToPiece(100266)).toBe('<|end|>');
  expect(tok.idToPiece(9906)).toBe('Hello');
  const llama = tok.encode('🦙'); // 4 bytes over several tokens: partial characters show their bytes
  expect(llama.map((id) => tok.idToPiece(id)).join('')).toBe('<0xF0><0x9F><0xA6><0x99>');
  expect(tok.isSpecial(100262)).toBe(true);
  expect(tok.decode([100262, 9906, 100266], { skipSpecial: true })).toBe('Hello');
});

test("the split pattern uses Unicode White_Space, not JavaScript's \\s (U+0085 is space, U+FEFF is not)", () => {
  const pieces = (text: string) => [...text.matchAll(CL100K_PATTERN)].map((m) => m[0]);
  // Rust: NEL NEL is whitespace → "\s+(?!\S)" leaves the last NEL to prefix the word.
  expect(pieces('a\u0085\u0085b')).toEqual(['a', '\u0085', '\u0085b']);
  // Rust: BOM is a symbol → one punctuation run.
  expect(pieces('a\uFEFF\uFEFFb')).toEqual(['a', '\uFEFF\uFEFF', 'b']);
  expect(pieces("it's 1234567 ok\n\n  x")).toEqual(['it', "'s", ' ', '123', '456', '7', ' ok', '\n\n', ' ', ' x']);
  expect(tok.encode('1234567890123')).toEqual([4513, 10961, 16474, 11531, 18]);
});
