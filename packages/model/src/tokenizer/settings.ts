/**
 * What a tokenizer needs beyond its vocabulary: which tokens are BOS/EOS, whether BOS is added by
 * default, the chat template, and extra end-of-generation ids. Read from HF JSON files or GGUF
 * metadata by the loaders; resolved to ids here, once, the same way for every tokenizer kind.
 */

export interface TokenizerSettings {
  /** HF `bos_token` / GGUF `tokenizer.ggml.bos_token_id` (as a string), if the tokenizer has one. */
  readonly bosToken: string | undefined;
  /** HF `eos_token` / GGUF `tokenizer.ggml.eos_token_id`. */
  readonly eosToken: string;
  /** HF `add_bos_token` / GGUF `tokenizer.ggml.add_bos_token`. */
  readonly addBosByDefault: boolean;
  readonly chatTemplate: string | undefined;
  /** eos ids from config.json and generation_config.json (`eos_token_id`: int or list). */
  readonly extraEosIds: readonly number[];
}

export interface ResolvedSpecials {
  readonly bosId: number | undefined;
  readonly eosId: number;
  readonly stopIds: readonly number[];
}

/**
 * Resolves token strings to ids and builds the stop set: the union (never a replacement) of the
 * tokenizer's eos, the config/generation-config eos ids, and `<|end|>`, which ends every assistant
 * turn in the Phi-3 chat format even where a config forgets to list it.
 */
export function resolveSpecials(
  settings: TokenizerSettings,
  pieceToId: (piece: string) => number | undefined,
  fail: (what: string) => Error,
): ResolvedSpecials {
  const bosId = settings.bosToken === undefined ? undefined : pieceToId(settings.bosToken);
  if (settings.bosToken !== undefined && bosId === undefined) throw fail(`bos_token '${settings.bosToken}' is not in the vocabulary`);
  const eosId = pieceToId(settings.eosToken);
  if (eosId === undefined) throw fail(`eos_token '${settings.eosToken}' is not in the vocabulary`);
  const stop = new Set<number>([eosId, ...settings.extraEosIds]);
  const end = pieceToId('<|end|>');
  if (end !== undefined) stop.add(end);
  return { bosId, eosId, stopIds: [...stop].sort((a, b) => a - b) };
}
