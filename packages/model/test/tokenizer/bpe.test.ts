// The heap-based merge loop against the naive reference, on random string vocabularies.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { bpeMerge, bpeMergeNaive, type MergeRules } from '../../src/tokenizer/bpe.ts';

/**
 * A toy BPE: symbols are strings interned to ids, a pair merges when its concatenation is in the
 * vocabulary, with that entry's rank (ties allowed, as SentencePiece scores have them).
 */
function toyRules(vocab: ReadonlyMap<string, number>): { rules: MergeRules; intern: (s: string) => number; text: (id: number) => string } {
  const ids = new Map<string, number>();
  const strings: string[] = [];
  const intern = (s: string) => {
    let id = ids.get(s);
    if (id === undefined) { id = strings.length; ids.set(s, id); strings.push(s); }
    return id;
  };
  const rules: MergeRules = {
    pairRank: (l, r) => vocab.get(strings[l] + strings[r]) ?? Infinity,
    pairResult: (l, r) => intern(strings[l] + strings[r]),
  };
  return { rules, intern, text: (id) => strings[id] };
}

const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 40 });
const vocabulary = fc
  .array(fc.tuple(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 2, maxLength: 6 }), fc.integer({ min: 0, max: 8 })), { maxLength: 40 })
  .map((entries) => new Map(entries));

test('bpeMerge equals bpeMergeNaive (lowest rank first, leftmost on ties)', () => {
  fc.assert(
    fc.property(vocabulary, word, (vocab, w) => {
      const { rules, intern, text } = toyRules(vocab);
      const symbols = [...w].map(intern);
      const fast = bpeMerge(symbols, rules).map(text);
      const naive = bpeMergeNaive(symbols, rules).map(text);
      expect(fast).toEqual(naive);
      expect(fast.join('')).toBe(w);
    }),
    { seed: 7, numRuns: 500 },
  );
});

test('ties go to the leftmost pair', () => {
  const { rules, intern, text } = toyRules(new Map([['aa', 0]]));
  expect(bpeMerge([...'aaa'].map(intern), rules).map(text)).toEqual(['aa', 'a']);
  const scored = toyRules(new Map([['ab', 1], ['bc', 1]]));
  expect(bpeMerge([...'abc'].map(scored.intern), scored.rules).map(scored.text)).toEqual(['ab', 'c']);
});
