/**
 * Phi-3-small's tokenizer: tiktoken byte-level BPE over the cl100k_base ranks, encoding the way
 * `Phi3SmallTokenizer` calls tiktoken (`encode(text, allowed_special="all")`):
 *   1. split off special tokens (leftmost match; no whitespace is stripped around them);
 *   2. cut each remaining text into pieces with the cl100k pattern;
 *   3. a piece whose UTF-8 bytes are a rank is that token; otherwise BPE over its bytes, merging the
 *      adjacent pair whose concatenation has the lowest rank (tiktoken src/lib.rs byte_pair_merge).
 */
import { TokenizerError } from '../errors.ts';
import { AddedTokenSplitter } from './added-tokens.ts';
import { BaseTokenizer } from './base.ts';
import { bpeMerge, type MergeRules } from './bpe.ts';
import { CL100K_PATTERN } from './cl100k.ts';
import { ByteStreamDecoder, decodeByteTokens } from './detokenize.ts';
import type { TokenizerSettings } from './settings.ts';
import type { AddedToken, DecodeOptions, StreamDecodeOptions, StreamDecoder } from './types.ts';
import { bytePieceName, decodeUtf8Strict, isAscii, utf8Bytes } from './unicode.ts';

const PIECE_CACHE_LIMIT = 50_000;

/**
 * Parses a `.tiktoken` rank file: one `base64(bytes) rank` per line.
 * @returns rank → the token's bytes as a latin1 string (one char per byte, a cheap Map key)
 */
export function parseTiktokenRanks(text: string, file: string): string[] {
  const tokens: string[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    const space = line.indexOf(' ');
    const rank = Number(line.slice(space + 1));
    if (space <= 0 || !Number.isInteger(rank) || rank < 0 || rank > 10_000_000 || tokens[rank] !== undefined) {
      throw new TokenizerError(`${file}:${lineNo}: expected 'base64 rank', got '${line.slice(0, 60)}'`);
    }
    tokens[rank] = Buffer.from(line.slice(0, space), 'base64').toString('latin1');
  }
  if (tokens.length < 256) throw new TokenizerError(`${file}: only ${tokens.length} ranks, not a tiktoken rank file`);
  return tokens;
}

/** tiktoken merging: the pair's rank is the rank of its concatenated bytes, which is also the merged id. */
class RankRules implements MergeRules {
  constructor(private readonly tokenBytes: readonly string[], private readonly ranks: ReadonlyMap<string, number>) {}

  pairRank(left: number, right: number): number {
    return this.ranks.get(this.tokenBytes[left] + this.tokenBytes[right]) ?? Infinity;
  }

  pairResult(left: number, right: number): number {
    return this.pairRank(left, right);
  }
}

function latin1ToBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export class TiktokenTokenizer extends BaseTokenizer {
  readonly kind = 'tiktoken' as const;
  readonly vocabSize: number;
  private readonly ranks = new Map<string, number>();
  private readonly rules: RankRules;
  protected readonly splitter: AddedTokenSplitter;
  private readonly specialById = new Map<number, string>();
  private readonly specialIds: ReadonlyMap<string, number>;
  private readonly bytesById: (Uint8Array | undefined)[] = [];
  /** Merge results of pieces that are not a single rank (tiktoken has no cache; this is only speed). */
  private readonly pieceCache = new Map<string, readonly number[]>();

  /**
   * @param tokenBytes rank → token bytes as latin1 (parseTiktokenRanks)
   * @param specials   special-token string → id
   */
  constructor(tokenBytes: readonly string[], specials: ReadonlyMap<string, number>, settings: TokenizerSettings) {
    super(settings);
    tokenBytes.forEach((bytes, rank) => this.ranks.set(bytes, rank));
    for (let b = 0; b < 256; b++) {
      if (!this.ranks.has(String.fromCharCode(b))) throw new TokenizerError(`rank file has no token for byte ${b}`);
    }
    this.rules = new RankRules(tokenBytes, this.ranks);
    this.specialIds = specials;
    const added: AddedToken[] = [];
    for (const [content, id] of specials) {
      if (tokenBytes[id] !== undefined) throw new TokenizerError(`special token ${content} reuses rank ${id}`);
      this.specialById.set(id, content);
      added.push({ id, content, lstrip: false, rstrip: false, special: true });
    }
    this.splitter = new AddedTokenSplitter(added);
    tokenBytes.forEach((bytes, id) => (this.bytesById[id] = latin1ToBytes(bytes)));
    for (const [id, content] of this.specialById) this.bytesById[id] = utf8Bytes(content);
    this.vocabSize = this.bytesById.length;
    this.resolveSpecialIds();
  }

  /** Steps 2-3 for text without special tokens (tiktoken `encode_ordinary`); appends to `ids`. */
  protected encodeText(text: string, ids: number[]): void {
    for (const match of text.matchAll(CL100K_PATTERN)) {
      const piece = match[0];
      // ASCII text is its own latin1 byte string; anything else goes through UTF-8 first.
      const bytes = isAscii(piece) ? piece : Buffer.from(piece, 'utf8').toString('latin1');
      const rank = this.ranks.get(bytes);
      if (rank !== undefined) ids.push(rank);
      else for (const id of this.mergePiece(bytes)) ids.push(id);
    }
  }

  /** BPE over the bytes (latin1 string) of one piece, starting from single-byte tokens. */
  private mergePiece(bytes: string): readonly number[] {
    let ids = this.pieceCache.get(bytes);
    if (ids !== undefined) return ids;
    const symbols: number[] = [];
    for (let i = 0; i < bytes.length; i++) symbols.push(this.ranks.get(bytes[i])!); // all 256 bytes are ranks
    ids = bpeMerge(symbols, this.rules);
    if (this.pieceCache.size >= PIECE_CACHE_LIMIT) this.pieceCache.clear();
    this.pieceCache.set(bytes, ids);
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const tokens: Uint8Array[] = [];
    for (const id of ids) {
      const bytes = this.decodableBytes(id, options);
      if (bytes) tokens.push(bytes);
    }
    return decodeByteTokens(tokens);
  }

  createStreamDecoder(options: StreamDecodeOptions = {}): StreamDecoder {
    return new ByteStreamDecoder((id) => this.decodableBytes(id, options), options.prefix);
  }

  private decodableBytes(id: number, options: DecodeOptions): Uint8Array | undefined {
    if (options.skipSpecial && this.specialById.has(id)) return undefined;
    return this.bytesById[id];
  }

  /** The token's text; a token that is not whole UTF-8 (part of a character) shows its bytes as `<0xXX>`. */
  idToPiece(id: number): string {
    const bytes = this.bytesById[id];
    if (bytes === undefined) throw new TokenizerError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    const special = this.specialById.get(id);
    if (special !== undefined) return special;
    return decodeUtf8Strict(bytes) ?? Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : bytePieceName(b))).join('');
  }

  pieceToId(piece: string): number | undefined {
    return this.specialIds.get(piece) ?? this.ranks.get(Buffer.from(piece, 'utf8').toString('latin1'));
  }

  isSpecial(id: number): boolean {
    return this.specialById.has(id);
  }
}
