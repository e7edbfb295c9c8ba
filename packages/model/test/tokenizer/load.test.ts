// loadTokenizer: what each kind of path loads, where settings come from, and one-line errors.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { TokenizerError, UnsupportedModelError, WeightsFormatError } from '../../src/errors.ts';
import { loadTokenizer, sentencePieceFromGguf, SentencePieceTokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, PHI3_GGUF, PHI3_SMALL_DIR } from './fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'phi3-tokenizer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

test('bad paths and files are TokenizerErrors naming the path', () => {
  expect(() => loadTokenizer(join(tmp, 'missing'))).toThrow(TokenizerError);
  expect(() => loadTokenizer(join(tmp, 'missing'))).toThrow(/missing: no such file or folder/);
  const empty = folder('empty', {});
  expect(() => loadTokenizer(empty)).toThrow(/empty: no tokenizer found/);
  const notJson = folder('not-json', { 'tokenizer.json': '{ nope' });
  expect(() => loadTokenizer(notJson)).toThrow(/tokenizer\.json: not valid JSON/);
  const notBpe = folder('not-bpe', { 'tokenizer.json': JSON.stringify({ model: { type: 'Unigram' } }) });
  expect(() => loadTokenizer(notBpe)).toThrow(UnsupportedModelError);
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'hello');
  expect(() => loadTokenizer(text)).toThrow(/notes\.txt: not a GGUF file or a tokenizer folder/);
  const fakeGguf = join(tmp, 'fake.gguf');
  writeFileSync(fakeGguf, 'GGUF\x03\x00');
  expect(() => loadTokenizer(fakeGguf)).toThrow(WeightsFormatError);
  const badRanks = folder('bad-ranks', { 'tokenizer_config.json': '{"tokenizer_class":"Phi3SmallTokenizer"}', 'x.tiktoken': 'QQ== zero\n' });
  expect(() => loadTokenizer(badRanks)).toThrow(/x\.tiktoken:1: expected 'base64 rank'/);
});

test('a Phi-3-small checkpoint folder without a rank file uses the shipped cl100k_base', () => {
  const dir = folder('phi3small-model', { 'config.json': '{"model_type":"phi3small","eos_token_id":100257}' });
  copyFileSync(join(PHI3_SMALL_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const tok = loadTokenizer(dir);
  expect(tok.kind).toBe('tiktoken');
  expect(tok.encode('<|user|>\nHello')).toEqual([100262, 198, 9906]);
});

test('stop ids are the union of tokenizer eos, config.json / generation_config.json eos ids and <|end|>', () => {
  const dir = folder('phi3-model', {
    'config.json': '{"model_type":"phi3","eos_token_id":32000}',
    'generation_config.json': '{"eos_token_id":[32000,32001,32007]}',
  });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(PHI3_DIR, f), join(dir, f));
  const tok = loadTokenizer(dir);
  expect(tok.stopIds).toEqual([32000, 32001, 32007]);
  expect(loadTokenizer(join(dir, 'tokenizer.json')).stopIds).toEqual([32000, 32001, 32007]); // a tokenizer.json path loads its folder
});

test('a folder whose only tokenizer is a GGUF file loads it', () => {
  const dir = folder('gguf-model', {});
  copyFileSync(PHI3_GGUF, join(dir, 'model.gguf'));
  expect(loadTokenizer(dir).encode('Hello world')).toEqual([15043, 3186]);
});

test('the GGUF builder works from a plain metadata record and rejects non-SentencePiece vocabularies', () => {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = ['<unk>', '<s>', '</s>', ...bytes, '\u2581', 'a', 'b', '\u2581a', 'ab', '\u2581ab'];
  const meta = {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': Float32Array.from(tokens, (_, i) => (i < 259 ? 0 : -i)),
    'tokenizer.ggml.token_type': Int32Array.from(tokens, (_, i) => (i < 3 ? 3 : i < 259 ? 6 : 1)),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
  };
  const { model, settings } = sentencePieceFromGguf(meta);
  expect(settings.eosToken).toBe('</s>');
  expect(model.addedTokens.map((t) => [t.content, t.rstrip])).toEqual([['<unk>', false], ['<s>', false], ['</s>', false]]);
  const tok = new SentencePieceTokenizer(model, settings);
  // score(▁a) = -262 beats score(ab) = -263: ▁ a b → ▁a b → ▁ab
  expect(tok.encode('ab')).toEqual([264]);
  expect(tok.encode('b a')).toEqual([259, 261, 262]);
  expect(tok.encode('c')).toEqual([259, 3 + 0x63]); // not in the vocabulary: byte fallback
  expect(() => sentencePieceFromGguf({ ...meta, 'tokenizer.ggml.model': 'gpt2' }, 'm.gguf')).toThrow(/m\.gguf: tokenizer\.ggml\.model 'gpt2' is not supported/);
  expect(() => sentencePieceFromGguf({ ...meta, 'tokenizer.ggml.scores': [0] })).toThrow(/tokenizer\.ggml\.scores: expected an array of 265/);
  expect(() => sentencePieceFromGguf({ 'general.architecture': 'phi3' }, 'w.gguf')).toThrow(/w\.gguf: no tokenizer in the metadata/);
  expect(() => sentencePieceFromGguf({ ...meta, 'tokenizer.ggml.eos_token_id': 999 })).toThrow(/eos_token_id = 999 is not a token id/);
});
