// Paths and loaders of the tokenizer fixtures (fixtures/tokenizers, see its README for provenance).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TOKENIZERS = fileURLToPath(new URL('../../../../fixtures/tokenizers/', import.meta.url));
export const PHI3_DIR = `${TOKENIZERS}phi3`;
export const PHI3_GGUF = `${TOKENIZERS}phi3/llamacpp/ggml-vocab-phi-3.gguf`;
export const PHI3_SMALL_DIR = `${TOKENIZERS}phi3small`;

export interface TokenizerCase {
  id: number;
  category: string;
  text: string;
  ids: number[];
  tokens?: string[];
  token_bytes_b64?: string[];
  decoded: string;
  decoded_skip_special?: string;
  ids_special_as_text?: number[];
}

export interface ChatExample {
  model: string;
  conversation: string;
  messages: { role: string; content: string }[];
  add_generation_prompt: boolean;
  prompt: string;
  ids: number[];
  decoded: string;
}

export function readText(relative: string): string {
  return readFileSync(`${TOKENIZERS}${relative}`, 'utf8');
}

export function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(`${TOKENIZERS}${relative}`, 'utf8')) as T;
}

export function readCases(relative: string): TokenizerCase[] {
  return readJson<{ cases: TokenizerCase[] }>(relative).cases;
}
