// Property tests (fast-check, fixed seeds): decode∘encode is the identity, streaming decode equals
// batch decode at every split point, for both tokenizers.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.ts';
import { PHI3_DIR, PHI3_SMALL_DIR } from './fixtures.ts';

const SEED = 20240423;
const RUNS = 300;

/** Characters that stress the tokenizers: whitespace classes, BOM, combining marks alone, astral. */
const TRICKY = [
  ' ', '  ', '\n', '\r\n', '\t', '\u00A0', '\u0085', '\u3000', '\u2028', '\uFEFF', '\u200B',
  '\u0301', '\u0300\u0301', '\u20DD', '\u093F', 'e\u0301', '🦙', '👩‍💻', '🇫🇷', '𠀀', '\u{10FFFD}', '\u{E0041}',
  "'s", "'S", '123456', 'Hello', ' world', 'ñ', 'Ж', '中文', 'ก', '<', '>', '|', '<0x41>', '▁',
];

/** Random Unicode text: arbitrary code points (astral planes included) mixed with TRICKY pieces. */
const unicodeText = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom(...TRICKY)), { maxLength: 12 })
  .map((parts) => parts.join(''));

/** Lone surrogates cannot be UTF-8 encoded, so no tokenizer can round-trip them. */
const wellFormed = (s: string) => !/[\uD800-\uDFFF]/u.test(s);

function expectStreamingEqualsBatch(tok: Tokenizer, ids: number[], skipSpecial: boolean): void {
  const batch = tok.decode(ids, { skipSpecial });
  const stream = tok.createStreamDecoder({ skipSpecial });
  let emitted = '';
  for (const id of ids) {
    emitted += stream.push(id);
    expect(batch.startsWith(emitted)).toBe(true); // emitted text is final
  }
  expect(emitted + stream.flush()).toBe(batch);
  for (let k = 0; k <= ids.length; k++) {
    const prefix = tok.createStreamDecoder({ skipSpecial });
    const text = ids.slice(0, k).map((id) => prefix.push(id)).join('') + prefix.flush();
    expect(text).toBe(tok.decode(ids.slice(0, k), { skipSpecial }));
  }
}

/** A stream started after a prompt prints exactly what the prompt's text is followed by. */
function expectPrefixStreamContinuesText(tok: Tokenizer, prompt: string, continuation: string, skipSpecial: boolean): void {
  const prefix = tok.encode(prompt);
  const ids = tok.encode(continuation);
  const before = tok.decode(prefix, { skipSpecial });
  const all = tok.decode([...prefix, ...ids], { skipSpecial });
  expect(all.startsWith(before)).toBe(true);
  const stream = tok.createStreamDecoder({ skipSpecial, prefix });
  expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe(all.slice(before.length));
}

let phi3: Tokenizer;
let small: Tokenizer;
beforeAll(() => {
  phi3 = loadTokenizer(PHI3_DIR);
  small = loadTokenizer(PHI3_SMALL_DIR);
});

describe('phi3 SentencePiece-BPE', () => {
  test('decode(encode(s)) === s for well-formed text without ▁ (which decodes to a space, as in HF)', () => {
    fc.assert(
      fc.property(unicodeText, (s) => {
        fc.pre(wellFormed(s) && !s.includes('\u2581'));
        expect(phi3.decode(phi3.encode(s))).toBe(s);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('streaming decode equals batch decode at every split point (encoded text)', () => {
    fc.assert(
      fc.property(unicodeText, fc.boolean(), (s, skip) => expectStreamingEqualsBatch(phi3, phi3.encode(s), skip)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('streaming decode equals batch decode on arbitrary ids (invalid byte runs, specials, unknown ids)', () => {
    const id = fc.oneof(fc.integer({ min: 3, max: 258 }), fc.integer({ min: 0, max: 32063 }), fc.constantFrom(29871, 1, 2, 32007));
    fc.assert(
      fc.property(fc.array(id, { maxLength: 24 }), fc.boolean(), (ids, skip) => expectStreamingEqualsBatch(phi3, ids, skip)),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

test.each([['phi3', () => phi3], ['phi3-small', () => small]] as const)(
  '%s: a stream with the prompt as prefix continues its text (keeps the space of a first ▁word)',
  (_name, tokenizer) => {
    const tok = tokenizer();
    fc.assert(
      fc.property(unicodeText, unicodeText, fc.boolean(), (prompt, continuation, skip) =>
        expectPrefixStreamContinuesText(tok, prompt, continuation, skip)),
      { seed: SEED, numRuns: RUNS },
    );
    const prompt = tok.encode('ROMEO:');
    const reply = tok.encode(tok.kind === 'tiktoken' ? ' I will' : 'I will'); // phi3: ▁I ▁will
    const stream = tok.createStreamDecoder({ prefix: prompt });
    expect(reply.map((id) => stream.push(id)).join('') + stream.flush()).toBe(' I will');
  },
);

describe('phi3-small tiktoken', () => {
  test('decode(encode(s)) === s for well-formed text', () => {
    fc.assert(
      fc.property(unicodeText, (s) => {
        fc.pre(wellFormed(s));
        expect(small.decode(small.encode(s))).toBe(s);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('streaming decode equals batch decode at every split point (encoded text and arbitrary ids)', () => {
    const id = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 100351 }));
    fc.assert(
      fc.property(unicodeText, fc.array(id, { maxLength: 16 }), fc.boolean(), (s, ids, skip) => {
        expectStreamingEqualsBatch(small, small.encode(s), skip);
        expectStreamingEqualsBatch(small, ids, skip);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
