/**
 * `loadTokenizer(path)`: the right tokenizer for a model folder, a tokenizer folder, or a GGUF file.
 *
 *   GGUF file (or a folder whose only tokenizer is one)  → SentencePiece-BPE from tokenizer.ggml.*
 *   folder whose tokenizer_config names Phi3SmallTokenizer, whose config.json says phi3small, or
 *   that holds a `.tiktoken` rank file                 → tiktoken (the folder's rank file, else
 *                                                          the cl100k_base.tiktoken shipped in assets/)
 *   folder with tokenizer.json                          → SentencePiece-BPE from tokenizer.json
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenizerError } from '../errors.ts';
import { readGgufMetadata } from '../weights/gguf.ts';
import { PHI3_SMALL_EOS_TOKEN, phi3SmallSpecialTokens } from './cl100k.ts';
import { readHfTokenizerSettings, readJsonIfExists } from './hf-settings.ts';
import { sentencePieceFromGguf } from './spm-gguf.ts';
import { sentencePieceFromTokenizerJson } from './spm-hf.ts';
import { SentencePieceTokenizer } from './spm.ts';
import { parseTiktokenRanks, TiktokenTokenizer } from './tiktoken.ts';
import type { Tokenizer } from './types.ts';

/** cl100k_base ranks shipped with the package: real Phi-3-small checkpoints have no rank file. */
export const SHIPPED_CL100K_PATH = fileURLToPath(new URL('../../assets/cl100k_base.tiktoken', import.meta.url));

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TokenizerError(`${file}: cannot read (${(err as Error).message})`);
  }
}

/** By extension or by the 4-byte magic "GGUF". */
function isGgufFile(file: string): boolean {
  if (file.toLowerCase().endsWith('.gguf')) return true;
  const magic = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return magic.toString('latin1') === 'GGUF';
}

/** Loads the tokenizer of a GGUF file from its metadata. */
export function loadGgufTokenizer(file: string): Tokenizer {
  const { metadata } = readGgufMetadata(file);
  const { model, settings } = sentencePieceFromGguf(metadata, file);
  return new SentencePieceTokenizer(model, settings);
}

/** Loads a Phi-3 tokenizer.json folder. */
function loadTokenizerJson(dir: string): Tokenizer {
  const file = join(dir, 'tokenizer.json');
  const json = readJsonIfExists(file)!;
  const model = sentencePieceFromTokenizerJson(json, file);
  const settings = readHfTokenizerSettings(dir, { bosToken: undefined, eosToken: undefined });
  return new SentencePieceTokenizer(model, settings);
}

/** Loads Phi-3-small's tiktoken tokenizer; `rankFile` defaults to the shipped cl100k_base. */
function loadTiktoken(dir: string, rankFile: string = SHIPPED_CL100K_PATH): Tokenizer {
  const ranks = parseTiktokenRanks(readText(rankFile), rankFile);
  const settings = readHfTokenizerSettings(dir, { bosToken: PHI3_SMALL_EOS_TOKEN, eosToken: PHI3_SMALL_EOS_TOKEN });
  return new TiktokenTokenizer(ranks, phi3SmallSpecialTokens(), settings);
}

function isPhi3SmallFolder(dir: string, files: readonly string[]): boolean {
  const tokenizerClass = readJsonIfExists(join(dir, 'tokenizer_config.json'))?.tokenizer_class;
  const modelType = readJsonIfExists(join(dir, 'config.json'))?.model_type;
  return tokenizerClass === 'Phi3SmallTokenizer' || modelType === 'phi3small' || files.some((f) => f.endsWith('.tiktoken'));
}

/**
 * @param path a model folder, a tokenizer folder, a tokenizer.json file, or a GGUF file
 * @throws TokenizerError when nothing usable is there (one line naming the path)
 */
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new TokenizerError(`${path}: no such file or folder`);
  if (statSync(path).isFile()) {
    if (isGgufFile(path)) return loadGgufTokenizer(path);
    if (basename(path) === 'tokenizer.json' || basename(path) === 'tokenizer_config.json') return loadTokenizer(dirname(path));
    throw new TokenizerError(`${path}: not a GGUF file or a tokenizer folder`);
  }
  const files = readdirSync(path);
  if (isPhi3SmallFolder(path, files)) {
    const rankFile = files.find((f) => f === 'cl100k_base.tiktoken') ?? files.find((f) => f.endsWith('.tiktoken'));
    return loadTiktoken(path, rankFile === undefined ? undefined : join(path, rankFile));
  }
  if (files.includes('tokenizer.json')) return loadTokenizerJson(path);
  const ggufs = files.filter((f) => f.toLowerCase().endsWith('.gguf'));
  if (ggufs.length === 1) return loadGgufTokenizer(join(path, ggufs[0]));
  throw new TokenizerError(
    `${path}: no tokenizer found (expected tokenizer.json, a Phi3SmallTokenizer tokenizer_config.json, or one .gguf file)`,
  );
}
