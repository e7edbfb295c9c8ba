/**
 * The tokenizer interface every Phi-3 family tokenizer implements (SentencePiece-BPE for
 * Phi-3/3.5 mini, medium, MoE, vision; tiktoken byte-level BPE for Phi-3-small).
 */

export interface EncodeOptions {
  /** Prepend the BOS id (`<s>` for Phi-3, `<|endoftext|>` for Phi-3-small). Default false. */
  addBos?: boolean;
  /**
   * Treat added/special-token strings in the text as plain text (no `<|user|>` etc. is recognised;
   * tiktoken's `encode_ordinary`). Default false: they are recognised, as HF and Phi3SmallTokenizer do.
   */
  specialAsText?: boolean;
}

export interface DecodeOptions {
  /** Drop ids whose token is marked special (HF `skip_special_tokens`). Default false. */
  skipSpecial?: boolean;
}

export interface StreamDecodeOptions extends DecodeOptions {
  /**
   * Ids whose text is already shown (the prompt). The stream continues after them: its output is
   * decode(prefix + ids) minus decode(prefix), so e.g. the space of a first generated `▁word` is
   * kept (a stream without prefix drops it, like decode's leading-space strip).
   */
  prefix?: readonly number[];
}

/**
 * Incremental detokenizer: feed ids one at a time, get text as soon as it is final.
 * The concatenation of every `push` result and the final `flush` equals `decode(allIds)`.
 */
export interface StreamDecoder {
  /** Adds one id; returns the text that became final (often '', e.g. mid-character). */
  push(id: number): string;
  /** Ends the stream; returns whatever was still held back. */
  flush(): string;
}

/** A token matched verbatim in the text before the model's own segmentation (HF "added token"). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Also consume the whitespace right before / after the match (HF lstrip / rstrip). */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Control token: dropped by `decode(ids, {skipSpecial: true})`. */
  readonly special: boolean;
}

export type TokenizerKind = 'sentencepiece-bpe' | 'tiktoken';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids this tokenizer knows (ids 0..vocabSize-1; some may have no token). */
  readonly vocabSize: number;
  /** BOS id, or undefined when the tokenizer has none. */
  readonly bosId: number | undefined;
  /** The config's own BOS setting (HF `add_bos_token`, GGUF `tokenizer.ggml.add_bos_token`). */
  readonly addBosByDefault: boolean;
  /** The single eos token id of the tokenizer config. */
  readonly eosId: number;
  /** Ids that end generation: config eos ids ∪ generation_config eos ids ∪ `<|end|>` (sorted). */
  readonly stopIds: readonly number[];
  /** BOS / EOS token strings, as chat templates refer to them (`bos_token`, `eos_token`). */
  readonly bosToken: string | undefined;
  readonly eosToken: string;
  /** The checkpoint's own Jinja chat template, if it ships one. */
  readonly chatTemplate: string | undefined;
  /** Special-token strings are recognised in `text` (HF default, tiktoken `allowed_special="all"`). */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids the tokenizer does not know are skipped, as HF's `Tokenizer::decode` does. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  createStreamDecoder(options?: StreamDecodeOptions): StreamDecoder;
  /** Vocabulary string of an id (`▁Hello`, `<0x0A>`, `<|end|>`; tiktoken: its bytes as UTF-8 with U+FFFD). */
  idToPiece(id: number): string;
  /** Id of a vocabulary string or added token, or undefined. */
  pieceToId(piece: string): number | undefined;
  /** True for control tokens (`<s>`, `<|user|>`, …). */
  isSpecial(id: number): boolean;
}
