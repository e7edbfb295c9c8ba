/**
 * Option definitions shared by the commands, so every command spells a flag the same way.
 * Flag names follow llama.cpp's llama-cli (`-n`, `--temp`, `--top-k`, `--repeat-penalty`, `-s`)
 * with mlx_lm/HF spellings as aliases; values map onto the library's HF-named options.
 *
 * Parsers only check the *form* of a value (a number, an integer); ranges are checked once, by the
 * library (`validateSamplingOptions` throws `InvalidArgumentError` → exit 2), so the rules live in
 * one place.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { DEFAULT_SAMPLING, KERNEL_CHOICES, type SamplingOptions } from '@phi3/model';
import { UsageError } from './run-main.ts';

/** commander argument parser: a finite number. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CommanderArgumentError('not a number.');
  return n;
}

/** commander argument parser: an integer (any sign; ranges are checked where they matter). */
export function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isSafeInteger(n)) throw new CommanderArgumentError('not an integer.');
  return n;
}

/** commander argument parser: an integer ≥ 0. */
export function parseNonNegativeInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw new CommanderArgumentError('must be an integer ≥ 0.');
  return n;
}

/** commander argument parser: an integer ≥ 1. */
export function parsePositiveInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new CommanderArgumentError('must be a positive integer.');
  return n;
}

/**
 * Makes a command's parse errors one line (no "Did you mean" second line) and has commander throw
 * them instead of calling process.exit, so run-main.ts maps them to exit code 2. (Subcommands copy
 * the program's settings when created, before run-main sets `exitOverride` on the program.)
 */
export function oneLineErrors(cmd: Command): Command {
  return cmd.showSuggestionAfterError(false).exitOverride();
}

/** `-m, --model PATH`: HF model folder (or GGUF file). */
export function addModelOption(cmd: Command, required: boolean): Command {
  const o = new Option('-m, --model <path>', 'model: Hugging Face folder (config.json + *.safetensors) or GGUF file');
  if (required) o.makeOptionMandatory();
  return cmd.addOption(o);
}

/** Weight storage formats `--dtype` offers (quantization happens in memory at load). */
export const WEIGHT_DTYPES = ['f32', 'q8_0', 'q4_0'] as const;

/** `--dtype f32|q8_0|q4_0`: store the model's matrices in this format (GGUF block formats). */
export function addDtypeOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--dtype <type>', 'store weight matrices as (quantized in memory at load)').choices(WEIGHT_DTYPES).default('f32'),
  );
}

/**
 * `--kernels auto|ts|wasm`: which matvec kernels run the model (@phi3/model weights/kernels.ts);
 * auto = WebAssembly SIMD128 where the runtime supports it, else the TypeScript reference kernels.
 */
export function addKernelsOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--kernels <kind>', 'matvec kernels: ts (reference), wasm (SIMD128, weights in wasm memory), auto').choices(KERNEL_CHOICES).default('auto'),
  );
}

/** `-t, --threads N` (llama-cli / llama-bench): threads per decode matvec; > 1 needs the wasm kernels. */
export function addThreadsOption(cmd: Command): Command {
  return cmd.addOption(new Option('-t, --threads <n>', 'threads per decode matvec (wasm kernels)').argParser(parsePositiveInteger).default(1));
}

/** `--dtype`, `--kernels` and `-t`: how the weights are stored and multiplied. */
export function addWeightPlacementOptions(cmd: Command): Command {
  return addThreadsOption(addKernelsOption(addDtypeOption(cmd)));
}

/** Values of `addWeightPlacementOptions`. */
export interface WeightPlacementFlags {
  dtype: string;
  kernels: string;
  threads: number;
}

/** `-n/--max-tokens` with llama.cpp and HF aliases. */
export function addMaxTokensOption(cmd: Command, fallback: number): Command {
  return cmd
    .addOption(new Option('-n, --max-tokens <n>', `tokens to generate (aliases --max-new-tokens, --n-predict)`).argParser(parsePositiveInteger).default(fallback))
    .addOption(new Option('--max-new-tokens <n>').argParser(parsePositiveInteger).hideHelp())
    .addOption(new Option('--n-predict <n>').argParser(parsePositiveInteger).hideHelp());
}

/** The sampling flags (llama-cli names). Defaults: greedy, no penalty. */
export function addSamplingOptions(cmd: Command): Command {
  const d = DEFAULT_SAMPLING;
  return cmd
    .addOption(new Option('--temp <t>', 'temperature; 0 = greedy').argParser(parseNumber).default(d.temperature))
    .addOption(new Option('--top-k <k>', 'keep the k most likely tokens; 0 = off').argParser(parseInteger).default(d.topK))
    .addOption(new Option('--top-p <p>', 'nucleus: keep the smallest set with mass ≥ p, in (0, 1]; 1 = off').argParser(parseNumber).default(d.topP))
    .addOption(new Option('--min-p <p>', 'drop tokens below p × the top probability; 0 = off').argParser(parseNumber).default(d.minP))
    .addOption(new Option('--repeat-penalty <r>', 'repetition penalty (HF); 1 = off').argParser(parseNumber).default(d.repetitionPenalty))
    .addOption(new Option('--repeat-last-n <n>', 'tokens the penalty looks back at; -1 = all, 0 = none').argParser(parseInteger).default(d.repetitionLastN))
    .addOption(new Option('-s, --seed <seed>', 'PRNG seed (same seed → same text); -1 or absent = random').argParser(parseInteger))
    .addOption(new Option('--stop <text>', 'stop before this text (repeatable; \\n \\t \\\\ are escapes)').argParser(collectUnescaped).default([]))
    .addOption(new Option('--ignore-eos', 'keep generating past end-of-sequence tokens'));
}

function collectUnescaped(value: string, previous: string[]): string[] {
  return [...previous, unescape(value)];
}

/**
 * Turns `\n`, `\r`, `\t`, `\\`, `\'`, `\"` into the characters, as llama-cli does for reverse
 * prompts (`--escape`, on by default), so `--stop "\n\n"` works from any shell.
 */
export function unescape(text: string): string {
  const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };
  return text.replace(/\\([nrt\\'"])/g, (_, c: string) => map[c]);
}

/** Raw option values of `addSamplingOptions` + `addMaxTokensOption` as commander stores them. */
export interface SamplingFlags {
  temp: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  seed?: number;
  stop: string[];
  ignoreEos?: boolean;
  maxTokens: number;
  maxNewTokens?: number;
  nPredict?: number;
}

/** Maps llama.cpp-named flags to the library's HF-named sampling options (not validated yet). */
export function samplingFromFlags(f: SamplingFlags): SamplingOptions {
  return {
    temperature: f.temp,
    topK: f.topK,
    topP: f.topP,
    minP: f.minP,
    repetitionPenalty: f.repeatPenalty,
    repetitionLastN: f.repeatLastN,
    seed: f.seed === undefined || f.seed === -1 ? randomSeed() : f.seed,
  };
}

/** The number of tokens to generate, whichever alias was used (`-n` wins if several are given). */
export function maxTokensFromFlags(cmd: Command, f: SamplingFlags): number {
  if (cmd.getOptionValueSource('maxTokens') === 'cli') return f.maxTokens;
  return f.maxNewTokens ?? f.nPredict ?? f.maxTokens;
}

/** A random 32-bit seed, like llama.cpp's default `--seed -1`. */
function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** Prompt sources of `generate`: `-p TEXT`, `-f FILE`, or stdin when neither is given. */
export function addPromptOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-p, --prompt <text>', 'prompt text (default: read stdin)').conflicts('file'))
    .addOption(new Option('-f, --file <path>', 'read the prompt from a file'));
}

/**
 * Reads the prompt from `-p`, `-f` or (when stdin is not a terminal) stdin.
 * @throws UsageError when there is no prompt at all, or the file cannot be read
 */
export async function readPrompt(f: { prompt?: string; file?: string }): Promise<string> {
  if (f.prompt !== undefined) return f.prompt;
  if (f.file !== undefined) {
    try {
      return readFileSync(f.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read prompt file ${f.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (process.stdin.isTTY) throw new UsageError('no prompt: pass -p TEXT, -f FILE, or pipe text to stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--chat` / `--raw` / `--system`: whether the prompt goes through the model's chat template. */
export function addPromptFormatOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--chat', 'wrap the prompt in the model\'s chat template (default when it has one)').conflicts('raw'))
    .addOption(new Option('--raw', 'use the prompt text as is, no chat template'))
    .addOption(new Option('--system <text>', 'system message (chat template only)'));
}

/** `-v` given on the program or the command (the program option is global). */
export function isVerbose(cmd: Command): boolean {
  return Boolean(cmd.optsWithGlobals<{ verbose?: boolean }>().verbose);
}
