/**
 * Unicode helpers shared by both tokenizers.
 *
 * JavaScript's `\s` is not the whitespace class the reference tokenizers use: it includes U+FEFF
 * (BOM) and excludes U+0085 (NEL). Rust's `char::is_whitespace` (HF tokenizers' rstrip/lstrip) and
 * Rust regex `\s` (tiktoken's split pattern) both mean the Unicode `White_Space` property, so we
 * spell that set out here and use it everywhere instead of `\s`.
 */
import { TextDecoder, TextEncoder } from 'node:util';

/**
 * Unicode White_Space (PropList.txt), as a regex character-class body (no brackets):
 * U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000. Notably NOT U+FEFF, U+200B (zero-width space) or U+180E.
 */
export const WHITE_SPACE_CLASS =
  '\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

/**
 * Rust `char::is_whitespace` for one UTF-16 code unit (every White_Space character is in the BMP,
 * so a surrogate half is never whitespace). Same set as WHITE_SPACE_CLASS.
 */
export function isWhiteSpaceCode(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  return (
    code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
  );
}

/**
 * UTF-8 decoder for token bytes. `ignoreBOM: true` matters: the default TextDecoder silently
 * drops a leading U+FEFF, but a text that starts with a BOM must decode back to itself.
 * Invalid bytes become U+FFFD per maximal subpart (WHATWG), the same as Python's
 * `bytes.decode('utf-8', errors='replace')` that tiktoken's decode uses.
 */
export function createUtf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { ignoreBOM: true });
}

const utf8Encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become EF BF BD, as TextEncoder does). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** True when every UTF-16 unit of `s` is ASCII (then its UTF-8 bytes equal its char codes). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text, or undefined when they are not valid (complete) UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** SentencePiece's name for a byte-fallback piece: `<0x0A>` (two upper-case hex digits). */
export function bytePieceName(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}
