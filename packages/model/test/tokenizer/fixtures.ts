// Paths and loaders of the tokenizer fixtures (fixtures/tokenizers, see its README for provenance).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import type { Tokenizer } from '../../src/tokenizer/index.ts';

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

/**
 * The reference-case tests every Phi-3 tokenizer path (tokenizer.json, GGUF) must pass: encode gives
 * the reference ids, decode keeping and skipping special tokens gives the reference texts.
 * @param tokenizer the tokenizer under test (called inside the tests, after `beforeAll` loaded it)
 */
export function testPhi3ReferenceCases(tokenizer: () => Tokenizer, cases: readonly TokenizerCase[]): void {
  test('encode gives the reference ids', () => {
    const tok = tokenizer();
    const mismatches = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids));
    expect(mismatches.map((c) => c.text)).toEqual([]);
  });

  test('decode (keeping and skipping special tokens) gives the reference text', () => {
    const tok = tokenizer();
    for (const c of cases) {
      expect(tok.decode(c.ids), c.text).toBe(c.decoded);
      expect(tok.decode(c.ids, { skipSpecial: true }), c.text).toBe(c.decoded_skip_special);
    }
  });
}
