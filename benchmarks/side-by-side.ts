// phi3.ts vs llama.cpp on the same GGUF file with the same threads (issue 9's side-by-side).
//
//   node_modules/.bin/tsx benchmarks/side-by-side.ts [--model mini|small] [--types q8_0,q4_0]
//                                                     [-t 2] [-p 64] [-n 32] [-r 3]
//
// 1. Writes a random-weight GGUF of the chosen dimensions with our converter's export path
//    (model weights/gguf-export.ts + gguf-writer.ts, Phi-3 tokenizer from fixtures/tokenizers/phi3)
//    into benchmarks/.scratch/ (gitignored; reused when present). `mini` = phi-3-mini's real shapes
//    (3.8 B parameters); `small` = the small phi3 (hidden 1024, 8 layers, vocab 32064, 168 M).
// 2. Installs node-llama-cpp@3.21.1 into benchmarks/.scratch/ on first use (never a project dependency).
// 3. Runs `phi3 bench -m FILE --kernels wasm -t T -p P -n N -r R -o json` and the same pp/tg tests
//    through llama.cpp (side-by-side-llama.ts), each in its own process, one after the other.
// 4. Prints a markdown table of medians: tokens/s of both and the ratio phi3.ts / llama.cpp.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseFlags } from './flags.ts';
import { ConfigReader, variantForModelType, type ModelConfig } from '../packages/model/src/index.ts';
import {
  GGUF_OUT_TYPES, ggufModelMetadata, ggufModelTensors, isGgufOutType, type GgufExportConfig, type GgufOutType,
} from '../packages/model/src/weights/gguf-export.ts';
import { ggufTokenizerMetadata } from '../packages/model/src/weights/gguf-vocab.ts';
import { writeGguf } from '../packages/model/src/weights/gguf-writer.ts';
import { RANDOM_PRESETS, randomWeightSource, tensorShapes } from '../packages/cli/src/random-weights.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCRATCH = join(ROOT, 'benchmarks/.scratch');
const LLAMA_PACKAGE = 'node-llama-cpp@3.21.1';
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** The small phi3: phi-3-mini's layout at hidden 1024, 8 layers, 16 heads of 64 (168 M parameters). */
const SMALL_OVERRIDES = { hidden_size: 1024, intermediate_size: 2816, num_hidden_layers: 8, num_attention_heads: 16, num_key_value_heads: 16 };

export interface EngineResult {
  prefill_tok_s: number;
  decode_tok_s: number;
  load_s: number;
  peak_rss_mb: number;
}

function modelConfig(model: 'mini' | 'small'): ModelConfig {
  const raw = { ...RANDOM_PRESETS['phi-3-mini'], ...(model === 'small' ? SMALL_OVERRIDES : {}) };
  return variantForModelType('phi3', model).parseConfig(new ConfigReader(raw, `side-by-side ${model}`));
}

/** Writes (once) the random-weight GGUF for `model` in `type`; returns its path. */
function ensureGguf(model: 'mini' | 'small', type: GgufOutType): string {
  const path = join(SCRATCH, `phi3-${model}-random-${type}.gguf`);
  if (existsSync(path)) return path;
  const config = modelConfig(model) as GgufExportConfig;
  const source = randomWeightSource(tensorShapes(config), 0, `random phi3 ${model}`);
  const metadata = ggufModelMetadata(config, `phi3-${model}-random`, type);
  for (const [k, v] of ggufTokenizerMetadata(join(ROOT, 'fixtures/tokenizers/phi3'), config.vocabSize) ?? []) metadata.set(k, v);
  const tensors = ggufModelTensors(config, source, type);
  const started = performance.now();
  process.stderr.write(`writing ${path} (${tensors.length} tensors)…\n`);
  writeGguf(`${path}.partial`, metadata, tensors);
  renameSync(`${path}.partial`, path);
  process.stderr.write(`written in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return path;
}

function ensureLlamaCpp(): void {
  if (existsSync(join(SCRATCH, 'node_modules/node-llama-cpp/package.json'))) return;
  process.stderr.write(`installing ${LLAMA_PACKAGE} into ${SCRATCH} (not a project dependency)…\n`);
  if (!existsSync(join(SCRATCH, 'package.json'))) writeFileSync(join(SCRATCH, 'package.json'), '{ "private": true, "type": "module" }\n');
  execFileSync('npm', ['i', '-E', LLAMA_PACKAGE, '--no-audit', '--no-fund'], { cwd: SCRATCH, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs a child process that prints one JSON object on its last stdout line. */
function runJson(command: string, args: string[]): EngineResult {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as EngineResult;
}

const USAGE = `usage: tsx benchmarks/side-by-side.ts [--model mini|small] [--types ${GGUF_OUT_TYPES.join(',')}] [-t 2] [-p 64] [-n 32] [-r 3]`;

/** The flags, checked (flags.ts: one line and exit 2 for a bad one). */
function readFlags(): { model: 'mini' | 'small'; types: GgufOutType[]; t: string; p: string; n: string; r: string } {
  return parseFlags(USAGE, () => {
    const { values } = parseArgs({
      options: {
        model: { type: 'string', default: 'mini' },
        types: { type: 'string', default: 'q8_0,q4_0' },
        t: { type: 'string', short: 't', default: '2' },
        p: { type: 'string', short: 'p', default: '64' },
        n: { type: 'string', short: 'n', default: '32' },
        r: { type: 'string', short: 'r', default: '3' },
      },
    });
    if (values.model !== 'mini' && values.model !== 'small') throw new Error(`--model ${values.model}: expected mini or small`);
    const types = values.types.split(',');
    const unknown = types.find((type) => !isGgufOutType(type));
    if (unknown !== undefined) throw new Error(`--types: unknown type "${unknown}"`);
    for (const letter of ['t', 'p', 'n', 'r'] as const) {
      if (!/^[1-9][0-9]*$/.test(values[letter])) throw new Error(`-${letter} ${values[letter]}: expected a positive integer (both engines run both tests)`);
    }
    const { t, p, n, r } = values;
    return { model: values.model, types: types as GgufOutType[], t, p, n, r };
  });
}

function main(): void {
  const { model, types, t, p, n, r } = readFlags();
  mkdirSync(SCRATCH, { recursive: true });
  ensureLlamaCpp();
  const rows: string[] = [];
  for (const type of types) {
    const gguf = ensureGguf(model, type);
    process.stderr.write(`phi3.ts on ${gguf}…\n`);
    const ours = runJson(TSX, [join(ROOT, 'packages/cli/src/main.ts'), 'bench', '-m', gguf, '--kernels', 'wasm', '-t', t, '-p', p, '-n', n, '-r', r, '-o', 'json']);
    process.stderr.write(`llama.cpp on ${gguf}…\n`);
    const llama = runJson(TSX, [join(ROOT, 'benchmarks/side-by-side-llama.ts'), gguf, t, p, n, r]);
    const row = (test: string, a: number, b: number): string =>
      `| phi3-${model} random | ${type} | ${t} | ${test} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)} |`;
    rows.push(row(`pp${p}`, ours.prefill_tok_s, llama.prefill_tok_s), row(`tg${n}`, ours.decode_tok_s, llama.decode_tok_s));
    rows.push(`| | ${type} | | load s / peak RSS MB | ${ours.load_s.toFixed(1)} / ${ours.peak_rss_mb.toFixed(0)} | ${llama.load_s.toFixed(1)} / ${llama.peak_rss_mb.toFixed(0)} | |`);
  }
  process.stdout.write([
    `phi3.ts (--kernels wasm) vs llama.cpp (${LLAMA_PACKAGE}, CPU), same GGUF file, medians of ${r} repetitions`,
    '',
    '| model | type | threads | test | phi3.ts t/s | llama.cpp t/s | ratio |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'));
}

main();
