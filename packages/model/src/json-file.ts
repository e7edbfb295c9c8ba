/**
 * Reads the JSON files the loaders depend on (config.json, the safetensors index, tokenizer files,
 * reference.json, router.json), so an unreadable or malformed file is the caller's typed error
 * naming the file, the same way everywhere.
 */
import { readFileSync } from 'node:fs';

/**
 * @param error the typed error for this kind of file (ConfigError, TokenizerError, FixtureError, …)
 * @returns the parsed value (any JSON type: the caller validates its shape)
 */
export function readJsonFile(file: string, error: new (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}
