/**
 * Ids → text, in one go and incrementally, for both tokenizer flavours.
 *
 * SentencePiece-BPE (Phi-3): the decoder chain of Phi-3's tokenizer.json, as HF tokenizers runs
 * it (tokenizers/src/decoders/{replace,byte_fallback,fuse,strip}.rs):
 *   1. Replace `▁` → ' ' in every token string;
 *   2. ByteFallback: each run of consecutive `<0xXX>` tokens becomes those bytes as UTF-8, or, if
 *      the run is not valid UTF-8, one U+FFFD per byte of the run;
 *   3. Fuse: concatenate;  4. Strip: remove one leading ' ' from the whole text.
 * Byte-level BPE (Phi-3-small, tiktoken): concatenate the tokens' bytes, decode UTF-8 replacing
 * invalid sequences.
 */
import type { StreamDecoder } from './types.ts';
import { createUtf8Decoder, decodeUtf8Strict } from './unicode.ts';

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Replace decoder: SentencePiece's visible space ▁ (U+2581) back to ' '. */
function spacesOf(token: string): string {
  return token.includes('\u2581') ? token.replaceAll('\u2581', ' ') : token;
}

/** The byte of a `<0xXX>` byte-fallback token string, else undefined (ByteFallback's test). */
function byteOfToken(token: string): number | undefined {
  if (token.length !== 6 || token.charCodeAt(0) !== 0x3c) return undefined; // cheap reject before the regex
  const m = BYTE_TOKEN.exec(token);
  return m ? parseInt(m[1], 16) : undefined;
}

/** ByteFallback for one finished run: its UTF-8 text, or one U+FFFD per byte if invalid. */
function decodeByteRun(bytes: readonly number[]): string {
  return decodeUtf8Strict(Uint8Array.from(bytes)) ?? '\uFFFD'.repeat(bytes.length);
}

/**
 * Batch SentencePiece decode: HF's chain, step by step.
 * @param tokens token strings (vocabulary pieces, added tokens by content), in order
 */
export function decodeSentencePiece(tokens: readonly string[]): string {
  const replaced = tokens.map(spacesOf);
  const parts: string[] = [];
  let run: number[] = [];
  for (const token of replaced) {
    const byte = byteOfToken(token);
    if (byte !== undefined) {
      run.push(byte);
      continue;
    }
    if (run.length) parts.push(decodeByteRun(run));
    run = [];
    parts.push(token);
  }
  if (run.length) parts.push(decodeByteRun(run));
  const fused = parts.join('');
  return fused.startsWith(' ') ? fused.slice(1) : fused;
}

/**
 * Streaming SentencePiece decode. Plain pieces are final at once; a byte-fallback run is held
 * until it ends (next non-byte token or `flush`), because ByteFallback decides valid-vs-U+FFFD for
 * the run as a whole, so emitting part of it early could disagree with `decodeSentencePiece`.
 * The leading-space strip applies to the first non-empty text emitted.
 */
export class SentencePieceStreamDecoder implements StreamDecoder {
  private run: number[] = [];
  private started = false;

  /**
   * @param tokenString token string of an id, or undefined to skip it (unknown / skipped special)
   * @param prefix      ids whose text is already shown: consumed silently, including a byte run
   *                    still held back at their end, so output continues after them
   */
  constructor(private readonly tokenString: (id: number) => string | undefined, prefix: readonly number[] = []) {
    for (const id of prefix) this.push(id);
    if (this.endRun() !== '') this.started = true;
  }

  push(id: number): string {
    const token = this.tokenString(id);
    if (token === undefined) return '';
    const text = spacesOf(token);
    const byte = byteOfToken(text);
    if (byte !== undefined) {
      this.run.push(byte);
      return '';
    }
    return this.emit(this.endRun() + text);
  }

  flush(): string {
    return this.emit(this.endRun());
  }

  private endRun(): string {
    if (!this.run.length) return '';
    const text = decodeByteRun(this.run);
    this.run = [];
    return text;
  }

  private emit(text: string): string {
    if (this.started || text === '') return text;
    this.started = true;
    return text.startsWith(' ') ? text.slice(1) : text;
  }
}

/** Batch byte-level decode: concatenated bytes → UTF-8 (a leading BOM is kept). */
export function decodeByteTokens(tokens: readonly Uint8Array[]): string {
  let length = 0;
  for (const t of tokens) length += t.length;
  const all = new Uint8Array(length);
  let offset = 0;
  for (const t of tokens) { all.set(t, offset); offset += t.length; }
  return createUtf8Decoder().decode(all);
}

/**
 * Streaming byte-level decode: a streaming UTF-8 decoder emits each character as soon as its last
 * byte arrives; by the WHATWG Encoding spec its output equals decoding all bytes at once.
 */
export class ByteStreamDecoder implements StreamDecoder {
  private readonly utf8 = createUtf8Decoder();

  /**
   * @param tokenBytes bytes of an id, or undefined to skip it (unknown / skipped special)
   * @param prefix     ids whose text is already shown: consumed silently (an unfinished character
   *                   at their end stays pending and completes with the next bytes)
   */
  constructor(private readonly tokenBytes: (id: number) => Uint8Array | undefined, prefix: readonly number[] = []) {
    for (const id of prefix) this.push(id);
  }

  push(id: number): string {
    const bytes = this.tokenBytes(id);
    return bytes === undefined ? '' : this.utf8.decode(bytes, { stream: true });
  }

  flush(): string {
    return this.utf8.decode();
  }
}
