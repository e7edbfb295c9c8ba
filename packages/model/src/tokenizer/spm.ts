/**
 * Phi-3's SentencePiece-BPE tokenizer (Llama-2 vocabulary with byte fallback plus added tokens),
 * independent of where the vocabulary came from: `spm-hf.ts` builds it from tokenizer.json (merge
 * ranks), `spm-gguf.ts` from GGUF metadata (piece scores). Both give the same ids.
 *
 * encode (HF tokenizers with Phi-3's tokenizer.json; the README of fixtures/tokenizers spells it out):
 *   1. split off added tokens (`<|user|>`, `<s>`, …) with their lstrip/rstrip rules;
 *   2. each remaining text piece: normalizer Prepend('▁') + Replace(' ' → '▁'); no pre-tokenizer;
 *   3. BPE over code points, a code point missing from the vocabulary becoming its UTF-8 bytes as
 *      `<0xXX>` pieces (byte_fallback); byte pieces never merge.
 */
import { TokenizerError } from '../errors.ts';
import { AddedTokenSplitter } from './added-tokens.ts';
import { BaseTokenizer } from './base.ts';
import { bpeMerge, type MergeRules } from './bpe.ts';
import { decodeSentencePiece, SentencePieceStreamDecoder } from './detokenize.ts';
import type { TokenizerSettings } from './settings.ts';
import type { AddedToken, DecodeOptions, StreamDecodeOptions, StreamDecoder } from './types.ts';
import { bytePieceName, utf8Bytes } from './unicode.ts';

/** A SentencePiece-BPE vocabulary, whatever file it came from. */
export interface SentencePieceModel {
  /** id → vocabulary string of the model vocabulary (`▁the`, `<0x0A>`); holes allowed. */
  readonly pieces: readonly (string | undefined)[];
  /** Vocabulary string → id for every model piece (BPE starts from the single-code-point ones). */
  readonly pieceIds: ReadonlyMap<string, number>;
  /** How adjacent pieces merge (merge ranks or scores). */
  readonly rules: MergeRules;
  /** Tokens matched verbatim before BPE; their ids may also be model pieces (0, 1, 2). */
  readonly addedTokens: readonly AddedToken[];
  /** Total id count, including padding ids with no piece (GGUF `[PAD…]`). */
  readonly vocabSize: number;
}

const SPACE_MARKER = '\u2581'; // ▁
/** A run of ▁ and the text up to the next ▁ (or a trailing ▁ run): the cacheable chunks. */
const CHUNK = /\u2581*[^\u2581]+|\u2581+/g;
/** A piece in which a non-▁ character is followed by ▁: merges could cross a chunk boundary. */
const CROSSES_CHUNK = /[^\u2581]\u2581/;
const CACHE_LIMIT = 50_000;
const CACHEABLE_CHUNK_LENGTH = 128;

export class SentencePieceTokenizer extends BaseTokenizer {
  readonly kind = 'sentencepiece-bpe' as const;
  readonly vocabSize: number;
  protected readonly splitter: AddedTokenSplitter;
  private readonly added = new Map<number, AddedToken>();
  private readonly addedIds = new Map<string, number>();
  private readonly byteIds: number[] = [];
  /** True when no piece crosses a chunk boundary (checked once), so chunks merge independently. */
  private readonly chunkable: boolean;
  private readonly chunkCache = new Map<string, readonly number[]>();

  constructor(private readonly model: SentencePieceModel, settings: TokenizerSettings) {
    super(settings);
    this.vocabSize = model.vocabSize;
    for (const t of model.addedTokens) { this.added.set(t.id, t); this.addedIds.set(t.content, t.id); }
    this.splitter = new AddedTokenSplitter(model.addedTokens);
    for (let b = 0; b < 256; b++) {
      const name = bytePieceName(b);
      const id = model.pieceIds.get(name);
      if (id === undefined) throw new TokenizerError(`byte-fallback piece ${name} is missing from the vocabulary`);
      this.byteIds.push(id);
    }
    this.chunkable = !model.pieces.some((p) => p !== undefined && CROSSES_CHUNK.test(p));
    this.resolveSpecialIds();
  }

  /**
   * Normalizer + BPE for one non-empty text piece between added tokens. The piece is one BPE word
   * (no pre-tokenizer). But SentencePiece trained with whitespace splitting, so the Llama vocabulary
   * has no piece where another character is followed by ▁; then no merge crosses the point before
   * such a ▁, and merging each chunk `▁*[^▁]+` alone gives the same ids (cached, like HF's word
   * cache). `chunkable` checks that property of the vocabulary at load time.
   */
  protected encodeText(text: string, ids: number[]): void {
    const normalized = SPACE_MARKER + text.replaceAll(' ', SPACE_MARKER);
    if (!this.chunkable) {
      for (const id of this.mergeWord(normalized)) ids.push(id);
      return;
    }
    for (const match of normalized.matchAll(CHUNK)) {
      const chunk = match[0];
      let chunkIds = this.chunkCache.get(chunk);
      if (chunkIds === undefined) {
        chunkIds = this.mergeWord(chunk);
        if (chunk.length <= CACHEABLE_CHUNK_LENGTH) {
          if (this.chunkCache.size >= CACHE_LIMIT) this.chunkCache.clear();
          this.chunkCache.set(chunk, chunkIds);
        }
      }
      for (const id of chunkIds) ids.push(id);
    }
  }

  /** BPE over the code points of a normalized word; unknown code points fall back to byte pieces. */
  private mergeWord(word: string): number[] {
    const symbols: number[] = [];
    for (const ch of word) {
      const id = this.model.pieceIds.get(ch);
      if (id !== undefined) symbols.push(id);
      else for (const b of utf8Bytes(ch)) symbols.push(this.byteIds[b]);
    }
    return bpeMerge(symbols, this.model.rules);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.decodableString(id, options);
      if (t !== undefined) tokens.push(t);
    }
    return decodeSentencePiece(tokens);
  }

  createStreamDecoder(options: StreamDecodeOptions = {}): StreamDecoder {
    return new SentencePieceStreamDecoder((id) => this.decodableString(id, options), options.prefix);
  }

  /** The string decode uses for an id, or undefined when decode skips it. */
  private decodableString(id: number, options: DecodeOptions): string | undefined {
    const added = this.added.get(id);
    if (added) return options.skipSpecial && added.special ? undefined : added.content;
    return this.model.pieces[id];
  }

  idToPiece(id: number): string {
    const piece = this.added.get(id)?.content ?? this.model.pieces[id];
    if (piece === undefined) throw new TokenizerError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    return piece;
  }

  pieceToId(piece: string): number | undefined {
    return this.addedIds.get(piece) ?? this.model.pieceIds.get(piece);
  }

  isSpecial(id: number): boolean {
    return this.added.get(id)?.special ?? false;
  }
}
