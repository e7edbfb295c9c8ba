// Splitting on added tokens: leftmost-longest matches, HF's lstrip/rstrip rules.
import { expect, test } from 'vitest';
import { AddedTokenSplitter } from '../../src/tokenizer/added-tokens.ts';
import type { AddedToken } from '../../src/tokenizer/types.ts';

const token = (id: number, content: string, strip: Partial<AddedToken> = {}): AddedToken =>
  ({ id, content, lstrip: false, rstrip: false, special: true, ...strip });

test('leftmost match first, longest on ties; text between matches kept verbatim', () => {
  const splitter = new AddedTokenSplitter([token(1, '<a>'), token(2, '<a><b>'), token(3, 'b>')]);
  expect(splitter.split('x<a><b>y<a>b>')).toEqual([{ text: 'x' }, { id: 2 }, { text: 'y' }, { id: 1 }, { id: 3 }]);
  expect(splitter.split('')).toEqual([]);
  expect(splitter.split('plain')).toEqual([{ text: 'plain' }]);
});

test('rstrip swallows following Unicode whitespace (not U+FEFF); lstrip stops at the previous match', () => {
  const splitter = new AddedTokenSplitter([token(1, '<r>', { rstrip: true }), token(2, '<l>', { lstrip: true })]);
  expect(splitter.split('<r> \n\u0085\u3000x')).toEqual([{ id: 1 }, { text: 'x' }]);
  expect(splitter.split('<r>\uFEFF x')).toEqual([{ id: 1 }, { text: '\uFEFF x' }]);
  expect(splitter.split('a \t<l>b')).toEqual([{ text: 'a' }, { id: 2 }, { text: 'b' }]);
  expect(splitter.split('<r>  <l>')).toEqual([{ id: 1 }, { id: 2 }]);
  expect(splitter.split('<l> <l>')).toEqual([{ id: 2 }, { id: 2 }]);
});

test('regex metacharacters in token text are literal', () => {
  const splitter = new AddedTokenSplitter([token(5, '<|a.b|>')]);
  expect(splitter.split('<|axb|><|a.b|>')).toEqual([{ text: '<|axb|>' }, { id: 5 }]);
});
