/**
 * A Hugging Face Llama-style tokenizer (tokenizer.json + tokenizer_config.json) → GGUF
 * `tokenizer.ggml.*` metadata for `tokenizer.ggml.model = "llama"`, following llama.cpp's
 * convert_hf_to_gguf.py `Phi3MiniModel.set_vocab`: pieces padded to the model's vocab size with
 * `[PAD{i}]`, token types, added tokens (special → CONTROL, else USER_DEFINED, score −1000), special
 * ids, add_bos/add_eos and the chat template.
 *
 * llama.cpp takes piece scores from tokenizer.model; tokenizer.json has none, so they are rebuilt
 * from its merge list: a piece's score is −(rank of the first merge producing it). SentencePiece
 * merges the pair whose result scores highest, so this orders merges exactly as tokenizer.json
 * does (whose merges HF's converter derived from those very scores).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError, UnsupportedModelError } from '../errors.ts';
import { kv, type GgufTypedValue } from './gguf-writer.ts';

/** llama.cpp `llama_token_type` (gguf-py TokenType). */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
/** Scores convert_hf_to_gguf.py gives added tokens and padding entries. */
const ADDED_TOKEN_SCORE = -1000;
const PAD_SCORE = -10000;

type Json = Record<string, unknown>;

function readJson(path: string): Json {
  try {
    const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (err) {
    throw new TokenizerError(`${path}: ${(err as Error).message}`);
  }
}

/** A special-token field of tokenizer_config.json: a string or an AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/** Merge strings are "a b" (older files) or ["a", "b"] (newer ones). */
function mergePair(m: unknown): [string, string] | null {
  if (Array.isArray(m) && m.length === 2) return [String(m[0]), String(m[1])];
  if (typeof m === 'string') {
    const i = m.indexOf(' ', 1);
    return i > 0 ? [m.slice(0, i), m.slice(i + 1)] : null;
  }
  return null;
}

/**
 * GGUF tokenizer metadata for the tokenizer in model folder `dir`, or null when it has no tokenizer.json.
 * @param vocabSize the model's embedding rows (config vocab_size); pieces are padded to it
 * @throws TokenizerError for malformed files, UnsupportedModelError for non-BPE tokenizers
 */
export function ggufTokenizerMetadata(dir: string, vocabSize: number): Map<string, GgufTypedValue> | null {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) return null;
  const json = readJson(file);
  const model = (json.model ?? {}) as Json;
  if (model.type !== 'BPE' || typeof model.vocab !== 'object' || model.vocab === null || !Array.isArray(model.merges)) {
    throw new UnsupportedModelError(`${file}: only SentencePiece-style BPE tokenizers (Llama, Phi-3) can be written to GGUF`);
  }
  const vocab = Object.entries(model.vocab as Record<string, number>);
  const size = vocab.reduce((n, [, id]) => Math.max(n, id + 1), vocabSize);
  const tokens = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const scores = new Float32Array(size).fill(PAD_SCORE);
  const types = new Int32Array(size).fill(TokenType.UNUSED);
  const ids = new Map<string, number>();

  // Pieces no merge produces (single characters, bytes) rank after every merge, in id order.
  for (const [piece, id] of vocab) {
    if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`${file}: vocab entry "${piece}" has id ${String(id)}`);
    tokens[id] = piece;
    ids.set(piece, id);
    scores[id] = -(model.merges.length + id);
    const isByte = model.byte_fallback === true && /^<0x[0-9A-F]{2}>$/.test(piece);
    types[id] = piece === model.unk_token ? TokenType.UNKNOWN : isByte ? TokenType.BYTE : TokenType.NORMAL;
  }
  const merged = new Set<number>();
  model.merges.forEach((m, rank) => {
    const pair = mergePair(m);
    const id = pair === null ? undefined : ids.get(pair[0] + pair[1]);
    if (id === undefined) throw new TokenizerError(`${file}: merge #${rank} ${JSON.stringify(m)} does not produce a vocabulary piece`);
    if (!merged.has(id)) scores[id] = -rank;
    merged.add(id);
  });
  for (const t of (json.added_tokens ?? []) as Json[]) {
    if (typeof t.id !== 'number' || typeof t.content !== 'string' || t.id < 0 || t.id >= size) {
      throw new TokenizerError(`${file}: malformed added token ${JSON.stringify(t)}`);
    }
    tokens[t.id] = t.content;
    ids.set(t.content, t.id);
    scores[t.id] = ADDED_TOKEN_SCORE;
    types[t.id] = t.special ? TokenType.CONTROL : TokenType.USER_DEFINED;
  }

  const meta = new Map<string, GgufTypedValue>([
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.pre', kv.str('default')],
    ['tokenizer.ggml.tokens', kv.strArray(tokens)],
    ['tokenizer.ggml.scores', kv.f32Array(scores)],
    ['tokenizer.ggml.token_type', kv.i32Array(types)],
  ]);
  const configFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson(configFile) : {};
  // llama.cpp's SpecialVocab: ids of the tokens named in tokenizer_config.json.
  const specials: Array<[string, unknown]> = [
    ['bos_token_id', config.bos_token],
    ['eos_token_id', config.eos_token],
    ['unknown_token_id', config.unk_token ?? model.unk_token],
    ['padding_token_id', config.pad_token],
  ];
  for (const [key, token] of specials) {
    const id = ids.get(tokenContent(token) ?? '');
    if (id !== undefined) meta.set(`tokenizer.ggml.${key}`, kv.u32(id));
  }
  if (typeof config.add_bos_token === 'boolean') meta.set('tokenizer.ggml.add_bos_token', kv.bool(config.add_bos_token));
  if (typeof config.add_eos_token === 'boolean') meta.set('tokenizer.ggml.add_eos_token', kv.bool(config.add_eos_token));
  if (typeof config.chat_template === 'string') meta.set('tokenizer.chat_template', kv.str(config.chat_template));
  return meta;
}
