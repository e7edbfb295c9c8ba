/**
 * `phi3 tokenize -m PATH (--text TEXT | --jsonl) [--bos] [--decode] [--pieces]` (DESIGN.md).
 *   --text TEXT          prints the ids of TEXT as one JSON array
 *   --jsonl              one JSON string per stdin line → one JSON array of ids per stdout line
 *   --decode             the reverse: ids (JSON array; with --text also "1 2 3") → text
 *   --pieces             human view: one line per token with its id and vocabulary piece
 * PATH is a model folder, a tokenizer folder or a GGUF file. No BOS unless --bos.
 */
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { loadTokenizer, type Tokenizer } from '@phi3/model';
import { addModelOption, oneLineErrors } from '../options.ts';
import { UsageError } from '../run-main.ts';

interface TokenizeFlags {
  model: string;
  text?: string;
  jsonl?: boolean;
  bos?: boolean;
  decode?: boolean;
  pieces?: boolean;
}

/** Ids from a JSON array, or (for --text) integers separated by spaces/commas. */
function parseIds(input: string, where: string, tokenizer: Tokenizer): number[] {
  let value: unknown;
  try {
    value = JSON.parse(input.trim().startsWith('[') ? input : `[${input.trim().split(/[\s,]+/).filter(Boolean).join(',')}]`);
  } catch {
    throw new UsageError(`${where}: expected a JSON array of token ids`);
  }
  if (!Array.isArray(value) || !value.every((x) => Number.isSafeInteger(x) && x >= 0 && x < tokenizer.vocabSize)) {
    throw new UsageError(`${where}: expected token ids in [0, ${tokenizer.vocabSize})`);
  }
  return value as number[];
}

/** One line per token: position, id, and the piece as a JSON string (escapes made visible). */
function piecesView(tokenizer: Tokenizer, ids: readonly number[]): string {
  const lines = ids.map((id, i) => `${String(i).padStart(5)}  ${String(id).padStart(6)}  ${JSON.stringify(tokenizer.idToPiece(id))}`);
  return [...lines, `${ids.length} token${ids.length === 1 ? '' : 's'}`].join('\n');
}

function encodeOne(tokenizer: Tokenizer, text: string, flags: TokenizeFlags): number[] {
  return tokenizer.encode(text, { addBos: flags.bos === true });
}

async function runJsonl(tokenizer: Tokenizer, flags: TokenizeFlags): Promise<void> {
  let lineNo = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    const where = `stdin line ${lineNo}`;
    if (flags.decode) {
      process.stdout.write(`${JSON.stringify(tokenizer.decode(parseIds(line, where, tokenizer)))}\n`);
      continue;
    }
    let text: unknown;
    try {
      text = JSON.parse(line);
    } catch {
      throw new UsageError(`${where}: not valid JSON`);
    }
    if (typeof text !== 'string') throw new UsageError(`${where}: expected a JSON string`);
    process.stdout.write(`${JSON.stringify(encodeOne(tokenizer, text, flags))}\n`);
  }
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('tokenize'))
    .description('text → token ids (or ids → text with --decode) with a model\'s tokenizer');
  addModelOption(cmd, true);
  cmd
    .addOption(new Option('--text <text>', 'the text to tokenize (with --decode: ids, e.g. "[1, 2]" or "1 2")').conflicts('jsonl'))
    .addOption(new Option('--jsonl', 'batch mode: one JSON string per stdin line → one JSON array of ids per stdout line'))
    .addOption(new Option('--bos', "prepend the tokenizer's BOS token (never added otherwise)"))
    .addOption(new Option('--decode', 'reverse: token ids → text'))
    .addOption(new Option('--pieces', 'human view: one line per token with its id and vocabulary piece').conflicts('jsonl'))
    .action(async (flags: TokenizeFlags) => {
      if (flags.text === undefined && !flags.jsonl) throw new UsageError('give --text TEXT or --jsonl');
      if (flags.bos && flags.decode) throw new UsageError('--bos applies to encoding, not to --decode');
      const tokenizer = loadTokenizer(flags.model);
      if (flags.jsonl) return runJsonl(tokenizer, flags);
      const text = flags.text!;
      if (flags.decode) {
        const ids = parseIds(text, '--text', tokenizer);
        process.stdout.write(`${flags.pieces ? piecesView(tokenizer, ids) : tokenizer.decode(ids)}\n`);
        return;
      }
      const ids = encodeOne(tokenizer, text, flags);
      process.stdout.write(`${flags.pieces ? piecesView(tokenizer, ids) : JSON.stringify(ids)}\n`);
    });
}
