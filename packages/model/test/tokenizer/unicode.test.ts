// The spelled-out whitespace class is exactly Unicode White_Space (Rust char::is_whitespace).
import { expect, test } from 'vitest';
import { isWhiteSpaceCode, WHITE_SPACE_CLASS, createUtf8Decoder } from '../../src/tokenizer/unicode.ts';

test('WHITE_SPACE_CLASS and isWhiteSpaceCode equal \\p{White_Space} on every BMP code point', () => {
  const property = /^\p{White_Space}$/u;
  const spelled = new RegExp(`^[${WHITE_SPACE_CLASS}]$`, 'u');
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCharCode(cp);
    const expected = property.test(ch);
    if (spelled.test(ch) !== expected || isWhiteSpaceCode(cp) !== expected) throw new Error(`mismatch at U+${cp.toString(16)}`);
  }
  expect(isWhiteSpaceCode(0x85)).toBe(true); // NEL: whitespace in Rust, not in JS \s
  expect(isWhiteSpaceCode(0xfeff)).toBe(false); // BOM: JS \s says yes, Unicode says no
  expect(/\s/.test('\uFEFF')).toBe(true); // (why we cannot use \s)
});

test('the UTF-8 decoder keeps a leading BOM', () => {
  expect(createUtf8Decoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe('\uFEFFA');
});
