// Our own HF → GGUF vocabulary export (weights/gguf-vocab.ts, used by `phi3 convert`) read back by
// the GGUF tokenizer path: the same ids as tokenizer.json on every reference case.
import { expect, test } from 'vitest';
import { parseGgufHeader } from '../../src/weights/gguf.ts';
import { ggufTokenizerMetadata } from '../../src/weights/gguf-vocab.ts';
import { encodeGguf, kv } from '../../src/weights/gguf-writer.ts';
import { loadTokenizer, sentencePieceFromGguf, SentencePieceTokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, readCases } from './fixtures.ts';

test('a GGUF written from tokenizer.json tokenizes every case like tokenizer.json', () => {
  const meta = ggufTokenizerMetadata(PHI3_DIR, 32064)!;
  meta.set('general.architecture', kv.str('phi3')); // restores Phi-3's rstrip flags (GGUF has none)
  const { metadata } = parseGgufHeader(encodeGguf(meta, []));
  const { model, settings } = sentencePieceFromGguf(metadata);
  const fromGguf = new SentencePieceTokenizer(model, settings);
  const fromJson = loadTokenizer(PHI3_DIR);
  for (const c of [...readCases('phi3/cases.json'), ...readCases('phi3/cases-llamacpp.json')]) {
    expect(fromGguf.encode(c.text), c.text).toEqual(c.ids);
    expect(fromGguf.decode(c.ids, { skipSpecial: true }), c.text).toBe(c.decoded_skip_special);
  }
  expect(fromGguf.stopIds).toEqual(fromJson.stopIds);
  expect(fromGguf.chatTemplate).toBe(fromJson.chatTemplate);
});
