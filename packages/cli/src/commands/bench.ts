/**
 * `phi3 bench`: prefill and decode speed, llama-bench style (`-p` prompt tokens, `-n` generated
 * tokens, `-r` repetitions, `-t` threads, `-o md|json`). Like llama-bench, the two tests are
 * separate: "pp" feeds `-p` random tokens to an empty cache in one forward, "tg" feeds `-n` tokens one
 * at a time from an empty cache; `-p 0` or `-n 0` skips that test. Figures are medians over the
 * repetitions (null in JSON for a skipped test).
 *
 * `--random phi-3-mini|phi-3-small|phi-3-medium` builds random weights of the real dimensions in memory
 * (random-weights.ts); `--dtype q8_0|q4_0` quantizes any model's matrices in memory first.
 */
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { createRng } from '@phi3/tensor';
import {
  ContextLengthError, InferenceSession, resolveKernels, type Model, type WeightSource,
} from '@phi3/model';
import {
  addWeightPlacementOptions, isVerbose, oneLineErrors, parseNonNegativeInteger, parsePositiveInteger, type WeightPlacementFlags,
} from '../options.ts';
import { stderrStatus, statusLine, type StatusOutput } from '../progress.ts';
import { buildPlacedModel, countParameters, formatCount, openCheckpoint } from '../load-model.ts';
import { DEFAULT_MODEL_DIR } from '../default-model.ts';
import { UsageError } from '../run-main.ts';
import { tensorShapes, randomPresetConfig, randomWeightSource, RANDOM_PRESETS } from '../random-weights.ts';

interface BenchFlags extends WeightPlacementFlags {
  model?: string;
  random?: string;
  layers?: number;
  p: number;
  n: number;
  r: number;
  o: 'md' | 'json';
}

/** The `-o json` object: exactly the fields DESIGN.md specifies (medians over the repetitions; null: test skipped). */
export interface BenchResult {
  model: string;
  threads: number;
  prefill_tok_s: number | null;
  decode_tok_s: number | null;
  load_s: number;
  peak_rss_mb: number;
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('bench'))
    .description('prefill/decode tokens per second (llama-bench letters); default model: fixtures/phi3-shakespeare-tiny')
    .addOption(new Option('-m, --model <path>', 'HF model folder or GGUF file').conflicts('random'))
    .addOption(new Option('--random <name>', 'random weights with real dimensions').choices(Object.keys(RANDOM_PRESETS)))
    .addOption(new Option('--layers <n>', 'with --random: keep only the first n layers (quick runs at full width)').argParser(parsePositiveInteger))
    .addOption(new Option('-p <n>', 'prompt tokens (pp test; 0 skips it)').argParser(parseNonNegativeInteger).default(512))
    .addOption(new Option('-n <n>', 'generated tokens (tg test; 0 skips it)').argParser(parseNonNegativeInteger).default(128))
    .addOption(new Option('-r <n>', 'repetitions').argParser(parsePositiveInteger).default(5))
    .addOption(new Option('-o <format>', 'output format').choices(['md', 'json']).default('md'));
  addWeightPlacementOptions(cmd).action((flags: BenchFlags, self: Command) => {
      if (flags.layers !== undefined && flags.random === undefined) throw new UsageError('--layers only applies to --random models');
      if (flags.p === 0 && flags.n === 0) throw new UsageError('-p 0 and -n 0: nothing to measure');
      const status = stderrStatus(isVerbose(self));
      const { model, name, loadSeconds } = loadBenchModel(flags, status);
      const { prefill, decode } = runBench(model, flags, status);
      const result: BenchResult = {
        model: name,
        threads: flags.threads,
        prefill_tok_s: flags.p > 0 ? median(prefill) : null,
        decode_tok_s: flags.n > 0 ? median(decode) : null,
        load_s: loadSeconds,
        peak_rss_mb: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
      };
      process.stdout.write(flags.o === 'json' ? `${JSON.stringify(result)}\n` : markdown(result, model, flags, prefill, decode));
      model.close();
    });
}

function loadBenchModel(flags: BenchFlags, status: StatusOutput): { model: Model; name: string; loadSeconds: number } {
  const started = performance.now();
  let weights: WeightSource;
  let name: string;
  let config;
  if (flags.random !== undefined) {
    config = randomPresetConfig(flags.random, flags.layers);
    weights = randomWeightSource(tensorShapes(config), 0, `random ${flags.random}`);
    name = `${flags.random}${flags.layers === undefined ? '' : ` (${flags.layers} layers)`} random ${flags.dtype}`;
  } else {
    const path = flags.model ?? DEFAULT_MODEL_DIR;
    ({ config, weights } = openCheckpoint(path));
    name = `${basename(path)}${flags.dtype === 'f32' ? '' : ` ${flags.dtype}`}`;
  }
  statusLine(status, `building ${name} (${formatCount(countParameters(weights))} parameters)…`);
  const model = buildPlacedModel(config, weights, flags);
  const loadSeconds = (performance.now() - started) / 1000;
  statusLine(status, `loaded in ${loadSeconds.toFixed(2)} s`);
  return { model, name, loadSeconds };
}

/** Runs the pp and tg tests `-r` times; returns tokens/s of each repetition. */
function runBench(model: Model, flags: BenchFlags, status: StatusOutput): { prefill: number[]; decode: number[] } {
  const context = model.config.maxPositionEmbeddings;
  for (const [letter, count] of [['-p', flags.p], ['-n', flags.n]] as const) {
    if (count > context) throw new ContextLengthError(`${letter} ${count} exceeds the model's context of ${context} tokens`);
  }
  const rng = createRng(1);
  const randomTokens = (count: number): number[] => Array.from({ length: count }, () => Math.floor(rng.next() * model.config.vocabSize));
  const session = new InferenceSession(model);
  // untimed warm-up, as llama-bench does: the first calls of each kernel run before the engine has
  // optimized them (V8 compiles WebAssembly with a baseline tier first)
  if (flags.p > 0) session.feed(randomTokens(Math.min(flags.p, 8)));
  session.feed(randomTokens(1));
  const prefill: number[] = [];
  const decode: number[] = [];
  /** Tokens/s of `feed` over `count` random tokens, from an empty cache. */
  const tokensPerSecond = (count: number, feed: (tokens: number[]) => void): number => {
    session.reset();
    const tokens = randomTokens(count);
    const t0 = performance.now();
    feed(tokens);
    return count / ((performance.now() - t0) / 1000);
  };
  for (let rep = 0; rep < flags.r; rep++) {
    const done: string[] = [];
    if (flags.p > 0) {
      prefill.push(tokensPerSecond(flags.p, (prompt) => session.feed(prompt)));
      done.push(`pp${flags.p} ${prefill[rep].toFixed(2)} tok/s`);
    }
    if (flags.n > 0) {
      decode.push(tokensPerSecond(flags.n, (tokens) => tokens.forEach((token) => session.feed([token]))));
      done.push(`tg${flags.n} ${decode[rep].toFixed(2)} tok/s`);
    }
    statusLine(status, `rep ${rep + 1}/${flags.r}: ${done.join(', ')}`);
  }
  return { prefill, decode };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function stddev(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
}

/** llama-bench's table: one row per test, median ± standard deviation. */
function markdown(r: BenchResult, model: Model, flags: BenchFlags, prefill: number[], decode: number[]): string {
  const params = formatCount(countParameters(model.weights));
  const kernels = resolveKernels(flags.kernels);
  const row = (test: string, xs: number[]): string =>
    `| ${r.model} | ${params} | ${model.config.kind} | ${kernels} | ${r.threads} | ${test} | ${median(xs).toFixed(2)} ± ${stddev(xs).toFixed(2)} |`;
  return [
    '| model | params | variant | kernels | threads | test | t/s |',
    '| --- | ---: | --- | --- | ---: | ---: | ---: |',
    ...(flags.p > 0 ? [row(`pp${flags.p}`, prefill)] : []),
    ...(flags.n > 0 ? [row(`tg${flags.n}`, decode)] : []),
    '',
    `load ${r.load_s.toFixed(2)} s, peak RSS ${r.peak_rss_mb.toFixed(0)} MB, ${flags.r} repetitions`,
    '',
  ].join('\n');
}
