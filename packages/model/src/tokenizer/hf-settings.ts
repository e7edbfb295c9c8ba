/**
 * Reads tokenizer settings from a Hugging Face folder: tokenizer_config.json (bos/eos tokens,
 * add_bos_token, chat_template), special_tokens_map.json (bos/eos when the config lacks them),
 * config.json and generation_config.json (`eos_token_id`: extra stop ids).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError } from '../errors.ts';
import { readJsonFile } from '../json-file.ts';
import type { TokenizerSettings } from './settings.ts';

type Json = Record<string, unknown>;

/** Parses a JSON file, or returns undefined when it does not exist. Bad JSON → TokenizerError. */
export function readJsonIfExists(file: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  const value = readJsonFile(file, TokenizerError);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TokenizerError(`${file}: not a JSON object`);
  return value as Json;
}

/** A token field is a string or an AddedToken object `{content: ...}`. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** `chat_template` is a string, or a list of `{name, template}` of which 'default' is the chat one. */
function chatTemplateOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => (t as Json)?.name === 'default') ?? value[0];
    const template = (named as Json | undefined)?.template;
    return typeof template === 'string' ? template : undefined;
  }
  return undefined;
}

function eosIdsOf(json: Json | undefined): number[] {
  const v = json?.eos_token_id;
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.filter((x): x is number => Number.isInteger(x) && x >= 0);
}

/**
 * @param dir      the folder
 * @param defaults bos/eos to use when no file names them (the tokenizer class's own defaults)
 */
export function readHfTokenizerSettings(
  dir: string,
  defaults: { bosToken: string | undefined; eosToken: string | undefined },
): TokenizerSettings {
  const config = readJsonIfExists(join(dir, 'tokenizer_config.json'));
  const specialMap = readJsonIfExists(join(dir, 'special_tokens_map.json'));
  const modelConfig = readJsonIfExists(join(dir, 'config.json'));
  const generationConfig = readJsonIfExists(join(dir, 'generation_config.json'));
  const bosToken = tokenString(config?.bos_token) ?? tokenString(specialMap?.bos_token) ?? defaults.bosToken;
  const eosToken = tokenString(config?.eos_token) ?? tokenString(specialMap?.eos_token) ?? defaults.eosToken;
  if (eosToken === undefined) throw new TokenizerError(`${dir}: no eos_token in tokenizer_config.json or special_tokens_map.json`);
  return {
    bosToken,
    eosToken,
    addBosByDefault: config?.add_bos_token === true,
    chatTemplate: chatTemplateOf(config?.chat_template),
    extraEosIds: [...eosIdsOf(modelConfig), ...eosIdsOf(generationConfig)],
  };
}
