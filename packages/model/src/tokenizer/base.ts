/**
 * What both tokenizer flavours (SentencePiece-BPE `spm.ts`, tiktoken `tiktoken.ts`) share: the
 * config's special tokens, BOS rule and chat template, and the encode skeleton (added tokens split
 * off first, then the flavour's own encoding of each text segment). A flavour supplies its
 * vocabulary lookups, segment encoding and decoding.
 */
import { TokenizerError } from '../errors.ts';
import { encodeWithAddedTokens, type AddedTokenSplitter } from './added-tokens.ts';
import { resolveSpecials, type ResolvedSpecials, type TokenizerSettings } from './settings.ts';
import type { DecodeOptions, EncodeOptions, StreamDecodeOptions, StreamDecoder, Tokenizer, TokenizerKind } from './types.ts';

export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly kind: TokenizerKind;
  abstract readonly vocabSize: number;
  readonly addBosByDefault: boolean;
  readonly bosToken: string | undefined;
  readonly eosToken: string;
  readonly chatTemplate: string | undefined;
  private specials: ResolvedSpecials | undefined;

  protected constructor(private readonly settings: TokenizerSettings) {
    this.addBosByDefault = settings.addBosByDefault;
    this.bosToken = settings.bosToken;
    this.eosToken = settings.eosToken;
    this.chatTemplate = settings.chatTemplate;
  }

  /**
   * Resolves the BOS/EOS strings and stop ids through `pieceToId`; the flavour calls it at the end
   * of its constructor, once its vocabulary is in place, so a bad config fails at load time.
   * @throws TokenizerError when bos_token or eos_token is not in the vocabulary
   */
  protected resolveSpecialIds(): void {
    this.specials = resolveSpecials(this.settings, (piece) => this.pieceToId(piece), (message) => new TokenizerError(message));
  }

  private get resolved(): ResolvedSpecials {
    if (this.specials === undefined) throw new Error(`${this.constructor.name}: resolveSpecialIds() was not called`);
    return this.specials;
  }

  get bosId(): number | undefined {
    return this.resolved.bosId;
  }

  get eosId(): number {
    return this.resolved.eosId;
  }

  get stopIds(): readonly number[] {
    return this.resolved.stopIds;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return encodeWithAddedTokens(text, options, this.splitter, this.bosId, (segment, ids) => this.encodeText(segment, ids));
  }

  /** Added tokens (special tokens) matched verbatim before the flavour's own encoding. */
  protected abstract readonly splitter: AddedTokenSplitter;
  /** Encodes one non-empty segment without added tokens, appending its ids to `ids`. */
  protected abstract encodeText(text: string, ids: number[]): void;
  abstract decode(ids: readonly number[], options?: DecodeOptions): string;
  abstract createStreamDecoder(options?: StreamDecodeOptions): StreamDecoder;
  abstract idToPiece(id: number): string;
  abstract pieceToId(piece: string): number | undefined;
  abstract isSpecial(id: number): boolean;
}
