/**
 * Builds the SentencePiece-BPE model from GGUF tokenizer metadata (`tokenizer.ggml.*`, as written
 * by llama.cpp's convert_hf_to_gguf.py for `tokenizer.ggml.model = "llama"`): pieces, scores and
 * token types. Merging is SentencePiece's: merge the adjacent pair whose concatenation is a normal
 * piece with the highest score, leftmost on ties (sentencepiece bpe_model.cc; llama.cpp
 * llm_tokenizer_spm). This gives the same ids as tokenizer.json's merge list, which the HF
 * converter derived from these very scores.
 */
import { TokenizerError, UnsupportedModelError } from '../errors.ts';
import type { MergeRules } from './bpe.ts';
import type { TokenizerSettings } from './settings.ts';
import type { SentencePieceModel } from './spm.ts';
import type { AddedToken } from './types.ts';

/** GGUF metadata as key → value (arrays as JS arrays or typed arrays). */
export type GgufMetadata = ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>;

/** llama.cpp `llama_token_type` (gguf-py `TokenType`). */
const TokenType = { Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;
type TokenType = (typeof TokenType)[keyof typeof TokenType];

type Getter = (key: string) => unknown;

function getter(meta: GgufMetadata): Getter {
  return meta instanceof Map ? (key) => meta.get(key) : (key) => (meta as Record<string, unknown>)[key];
}

/** SentencePiece rules: rank = −score of the merged piece; only normal pieces are merge results. */
class ScoreRules implements MergeRules {
  constructor(
    private readonly pieces: readonly string[],
    private readonly normalIds: ReadonlyMap<string, number>,
    private readonly scores: ArrayLike<number>,
  ) {}

  pairRank(left: number, right: number): number {
    const merged = this.normalIds.get(this.pieces[left] + this.pieces[right]);
    return merged === undefined ? Infinity : -this.scores[merged];
  }

  pairResult(left: number, right: number): number {
    return this.normalIds.get(this.pieces[left] + this.pieces[right])!;
  }
}

/**
 * GGUF carries no lstrip/rstrip flags. llama.cpp restores Phi-3's from the model name
 * (src/llama-vocab.cpp, "set attributes by model name"): every control token strips the whitespace
 * after it, as does `</s>`, except `<unk>`, `<s>` and `<|endoftext|>`. These equal the flags of
 * Phi-3's tokenizer.json.
 */
function phi3Rstrip(content: string, type: TokenType): boolean {
  if (content === '<unk>' || content === '<s>' || content === '<|endoftext|>') return false;
  return type === TokenType.Control || content === '</s>';
}

function isPhi3Family(get: (key: string) => unknown): boolean {
  const arch = String(get('general.architecture') ?? '');
  const name = String(get('general.name') ?? '').toLowerCase();
  return arch === 'phi3' || arch === 'phimoe' || name.includes('phi3') || name.includes('phi-3');
}

function requireArray(get: Getter, label: string, key: string, length?: number): ArrayLike<unknown> {
  const v = get(key);
  const ok = Array.isArray(v) || ArrayBuffer.isView(v);
  if (!ok || (length !== undefined && (v as ArrayLike<unknown>).length !== length)) {
    throw new TokenizerError(`${label}: ${key}: expected an array${length === undefined ? '' : ` of ${length}`}`);
  }
  return v as ArrayLike<unknown>;
}

function optionalId(get: Getter, label: string, key: string, size: number): number | undefined {
  const v = get(key);
  if (v === undefined) return undefined;
  const id = Number(v);
  if (!Number.isInteger(id) || id < 0 || id >= size) throw new TokenizerError(`${label}: ${key} = ${String(v)} is not a token id`);
  return id;
}

/**
 * The SentencePiece model plus the settings GGUF metadata carries (bos/eos, add_bos, template).
 * @param label names the source in error messages (the file path)
 */
export function sentencePieceFromGguf(meta: GgufMetadata, label = 'GGUF'): { model: SentencePieceModel; settings: TokenizerSettings } {
  const get = getter(meta);
  const kind = get('tokenizer.ggml.model');
  if (kind === undefined) throw new TokenizerError(`${label}: no tokenizer in the metadata (tokenizer.ggml.model is missing)`);
  if (kind !== 'llama') {
    throw new UnsupportedModelError(`${label}: tokenizer.ggml.model '${String(kind)}' is not supported (only SentencePiece 'llama' vocabularies)`);
  }
  const pieces = Array.from(requireArray(get, label, 'tokenizer.ggml.tokens'), (p) => String(p));
  const n = pieces.length;
  const scores = requireArray(get, label, 'tokenizer.ggml.scores', n) as ArrayLike<number>;
  const types = requireArray(get, label, 'tokenizer.ggml.token_type', n) as ArrayLike<number>;

  const pieceIds = new Map<string, number>();
  const normalIds = new Map<string, number>();
  const addedTokens: AddedToken[] = [];
  const phi3 = isPhi3Family(get);
  pieces.forEach((piece, id) => {
    const type = Number(types[id]) as TokenType;
    if (!pieceIds.has(piece)) pieceIds.set(piece, id);
    if (type === TokenType.Normal) normalIds.set(piece, id);
    // Control and user-defined tokens are matched verbatim before BPE, like HF added tokens.
    if (type === TokenType.Control || type === TokenType.UserDefined) {
      addedTokens.push({ id, content: piece, lstrip: false, rstrip: phi3 && phi3Rstrip(piece, type), special: type === TokenType.Control });
    }
  });

  const bosId = optionalId(get, label, 'tokenizer.ggml.bos_token_id', n);
  const eosId = optionalId(get, label, 'tokenizer.ggml.eos_token_id', n);
  if (eosId === undefined) throw new TokenizerError(`${label}: tokenizer.ggml.eos_token_id is missing`);
  const eotId = optionalId(get, label, 'tokenizer.ggml.eot_token_id', n);
  const template = get('tokenizer.chat_template');
  const settings: TokenizerSettings = {
    bosToken: bosId === undefined ? undefined : pieces[bosId],
    eosToken: pieces[eosId],
    addBosByDefault: get('tokenizer.ggml.add_bos_token') !== false && bosId !== undefined, // llama.cpp: SPM adds BOS unless told not to
    chatTemplate: typeof template === 'string' ? template : undefined,
    extraEosIds: eotId === undefined ? [] : [eotId],
  };
  const model: SentencePieceModel = { pieces, pieceIds, rules: new ScoreRules(pieces, normalIds, scores), addedTokens, vocabSize: n };
  return { model, settings };
}
