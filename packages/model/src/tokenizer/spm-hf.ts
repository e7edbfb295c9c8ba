/**
 * Builds the SentencePiece-BPE model from a Hugging Face `tokenizer.json` (the Llama-style file
 * Phi-3 ships): `model.vocab`, `model.merges` (rank = line index), `added_tokens`.
 * The pipeline around the model is fixed in spm.ts / detokenize.ts, so the file's normalizer,
 * pre-tokenizer and decoder are checked to be exactly that pipeline rather than interpreted.
 */
import { TokenizerError, UnsupportedModelError } from '../errors.ts';
import type { MergeRules } from './bpe.ts';
import type { SentencePieceModel } from './spm.ts';
import type { AddedToken } from './types.ts';

type Json = Record<string, unknown>;

/** HF BPE merge rules: rank = index in `model.merges`; ties (same pair twice) go leftmost. */
class MergeListRules implements MergeRules {
  private readonly rankByPair = new Map<number, number>();
  private readonly resultByRank: Int32Array;

  constructor(merges: readonly [number, number, number][], private readonly stride: number) {
    this.resultByRank = new Int32Array(merges.length);
    merges.forEach(([left, right, result], rank) => {
      const key = left * stride + right;
      if (!this.rankByPair.has(key)) this.rankByPair.set(key, rank); // HF keeps the first rank of a duplicate
      this.resultByRank[rank] = result;
    });
  }

  pairRank(left: number, right: number): number {
    return this.rankByPair.get(left * this.stride + right) ?? Infinity;
  }

  pairResult(left: number, right: number): number {
    return this.resultByRank[this.rankByPair.get(left * this.stride + right)!];
  }
}

function describe(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 120) ?? String(value);
}

/** Checks the normalizer / pre-tokenizer / decoder are the Llama SentencePiece pipeline. */
function checkPipeline(json: Json, file: string): void {
  const normalizers = (json.normalizer as Json | null)?.normalizers as Json[] | undefined;
  const okNormalizer =
    normalizers?.length === 2 &&
    normalizers[0].type === 'Prepend' && normalizers[0].prepend === '\u2581' &&
    normalizers[1].type === 'Replace' && (normalizers[1].pattern as Json)?.String === ' ' && normalizers[1].content === '\u2581';
  if (!okNormalizer) throw new UnsupportedModelError(`${file}: normalizer ${describe(json.normalizer)} is not the Llama Prepend('▁')+Replace(' ','▁') one`);
  if (json.pre_tokenizer != null) throw new UnsupportedModelError(`${file}: pre_tokenizer ${describe(json.pre_tokenizer)} is not supported (expected null)`);
  const decoders = ((json.decoder as Json | null)?.decoders as Json[] | undefined)?.map((d) => d.type);
  if (decoders?.join(',') !== 'Replace,ByteFallback,Fuse,Strip') {
    throw new UnsupportedModelError(`${file}: decoder ${describe(json.decoder)} is not the Llama Replace/ByteFallback/Fuse/Strip chain`);
  }
}

function parseAddedToken(raw: Json, file: string): AddedToken {
  if (typeof raw.id !== 'number' || typeof raw.content !== 'string') throw new TokenizerError(`${file}: malformed added token ${describe(raw)}`);
  if (raw.single_word) throw new UnsupportedModelError(`${file}: added token '${raw.content}' has single_word=true, which is not supported`);
  if (raw.normalized) throw new UnsupportedModelError(`${file}: added token '${raw.content}' has normalized=true, which is not supported`);
  return { id: raw.id, content: raw.content, lstrip: !!raw.lstrip, rstrip: !!raw.rstrip, special: !!raw.special };
}

/**
 * @param json parsed tokenizer.json
 * @param file its path, for error messages
 */
export function sentencePieceFromTokenizerJson(json: Json, file: string): SentencePieceModel {
  const model = json.model as Json | undefined;
  if (!model || model.type !== 'BPE') throw new UnsupportedModelError(`${file}: model.type ${describe(model?.type)} is not BPE`);
  if (model.byte_fallback !== true) throw new UnsupportedModelError(`${file}: BPE without byte_fallback is not supported`);
  checkPipeline(json, file);
  const vocab = model.vocab as Record<string, number> | undefined;
  if (!vocab || typeof vocab !== 'object') throw new TokenizerError(`${file}: model.vocab is missing`);

  const pieceIds = new Map<string, number>();
  const pieces: (string | undefined)[] = [];
  for (const [piece, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0 || id > 10_000_000) throw new TokenizerError(`${file}: bad id ${describe(id)} for piece '${piece}'`);
    pieceIds.set(piece, id);
    pieces[id] = piece;
  }
  const addedTokens = ((json.added_tokens as Json[] | undefined) ?? []).map((t) => parseAddedToken(t, file));
  const vocabSize = Math.max(pieces.length, ...addedTokens.map((t) => t.id + 1));

  // merges are "left right" strings (older files) or [left, right] pairs (tokenizers >= 0.20).
  const rawMerges = model.merges as (string | [string, string])[] | undefined;
  if (!Array.isArray(rawMerges)) throw new TokenizerError(`${file}: model.merges is missing`);
  const merges = rawMerges.map((m): [number, number, number] => {
    const [a, b] = typeof m === 'string' ? [m.slice(0, m.indexOf(' ')), m.slice(m.indexOf(' ') + 1)] : m;
    const left = pieceIds.get(a);
    const right = pieceIds.get(b);
    const result = pieceIds.get(a + b);
    if (left === undefined || right === undefined || result === undefined) {
      throw new TokenizerError(`${file}: merge ${describe(m)} uses a piece that is not in the vocabulary`);
    }
    return [left, right, result];
  });
  return { pieces, pieceIds, rules: new MergeListRules(merges, vocabSize), addedTokens, vocabSize };
}
