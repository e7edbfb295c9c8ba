// The chunked, cached Phi-3 encode equals BPE over the whole normalized text (the reference form:
// no pre-tokenizer, one word per text piece), on whitespace-heavy random strings.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { sentencePieceFromTokenizerJson } from '../../src/tokenizer/spm-hf.ts';
import { SentencePieceTokenizer } from '../../src/tokenizer/spm.ts';
import { PHI3_DIR } from './fixtures.ts';

const file = `${PHI3_DIR}/tokenizer.json`;
const model = sentencePieceFromTokenizerJson(JSON.parse(readFileSync(file, 'utf8')), file);
const settings = { bosToken: '<s>', eosToken: '</s>', addBosByDefault: false, chatTemplate: undefined, extraEosIds: [] };
const chunked = new SentencePieceTokenizer(model, settings);
// A piece with ▁ after another character (never produced by any merge) turns chunking off.
const whole = new SentencePieceTokenizer({ ...model, pieces: [...model.pieces, 'x\u2581y'] }, settings);

const text = fc
  .array(fc.constantFrom(' ', '  ', '   ', '\t', '\n', '\u00A0', 'a', 'the', ' the', 'ing', '▁', '中', '🦙', 'Hello', '<|end|>', '1'), { maxLength: 30 })
  .map((parts) => parts.join(''));

test('chunked encode equals whole-word BPE', () => {
  fc.assert(
    fc.property(text, (s) => {
      expect(chunked.encode(s)).toEqual(whole.encode(s));
      expect(chunked.encode(s)).toEqual(chunked.encode(s)); // second call is served from the cache
    }),
    { seed: 99, numRuns: 400 },
  );
});
