/**
 * Splitting raw text on added / special tokens before the model's own segmentation.
 *
 * Semantics of HF tokenizers' `AddedVocabulary::find_matches` (tokenizers/src/tokenizer/
 * added_vocabulary.rs): all token strings are searched at once, leftmost match first and the
 * longest one when several start at the same place (aho-corasick LeftmostLongest); a token with
 * `rstrip` also consumes the whitespace after the match, one with `lstrip` the whitespace before it
 * (never reaching back past the previous match). Whitespace is Rust's `char::is_whitespace`.
 * tiktoken's special-token search (leftmost match) is the same thing without stripping.
 */
import { TokenizerError } from '../errors.ts';
import type { AddedToken, EncodeOptions } from './types.ts';
import { isWhiteSpaceCode } from './unicode.ts';

/** A piece of the input: plain text for the model, or an added token matched verbatim. */
export type Segment = { readonly text: string; readonly id?: undefined } | { readonly text?: undefined; readonly id: number };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export class AddedTokenSplitter {
  private readonly byContent = new Map<string, AddedToken>();
  private readonly pattern: RegExp | undefined;

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content === '') throw new TokenizerError(`added token ${t.id} has empty content`);
      this.byContent.set(t.content, t);
    }
    // JS alternation is leftmost-first; listing longer strings first makes it leftmost-longest.
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    this.pattern = contents.length ? new RegExp(contents.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** Splits `text` into text segments and added-token ids, in order; empty text segments are omitted. */
  split(text: string): Segment[] {
    const out: Segment[] = [];
    let offset = 0; // end of the previous match (after its stripped whitespace)
    if (this.pattern) {
      for (const match of text.matchAll(this.pattern)) {
        const token = this.byContent.get(match[0])!;
        let start = match.index!;
        let stop = start + match[0].length;
        if (start < offset) continue; // only possible when an rstrip swallowed the start of this match
        if (token.lstrip) while (start > offset && isWhiteSpaceCode(text.charCodeAt(start - 1))) start--;
        if (token.rstrip) while (stop < text.length && isWhiteSpaceCode(text.charCodeAt(stop))) stop++;
        if (start > offset) out.push({ text: text.slice(offset, start) });
        out.push({ id: token.id });
        offset = stop;
      }
    }
    if (offset < text.length) out.push({ text: text.slice(offset) });
    return out;
  }
}

/**
 * The encode skeleton both tokenizers share: BOS if asked, added tokens as their ids, and every
 * text segment through the model's own `encodeText`, which appends its ids to `out`.
 */
export function encodeWithAddedTokens(
  text: string,
  options: EncodeOptions,
  splitter: AddedTokenSplitter,
  bosId: number | undefined,
  encodeText: (text: string, out: number[]) => void,
): number[] {
  const ids: number[] = [];
  if (options.addBos) {
    if (bosId === undefined) throw new TokenizerError('this tokenizer has no BOS token');
    ids.push(bosId);
  }
  const segments: Segment[] = options.specialAsText ? (text === '' ? [] : [{ text }]) : splitter.split(text);
  for (const segment of segments) {
    if (segment.id !== undefined) ids.push(segment.id);
    else encodeText(segment.text, ids);
  }
  return ids;
}
