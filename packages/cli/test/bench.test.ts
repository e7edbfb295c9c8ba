// `phi3 bench` through the real binary: llama-bench letters, DESIGN.md's JSON fields, random weights.
import { describe, expect, test } from 'vitest';
import type { BenchResult } from '../src/commands/bench.ts';
import { runCli } from './helpers/run-cli.ts';

const FIELDS = ['model', 'threads', 'prefill_tok_s', 'decode_tok_s', 'load_s', 'peak_rss_mb'];

function expectSaneResult(r: BenchResult): void {
  expect(Object.keys(r)).toEqual(FIELDS);
  expect(r.threads).toBe(1);
  for (const k of ['prefill_tok_s', 'decode_tok_s', 'load_s', 'peak_rss_mb'] as const) {
    const value = r[k];
    expect(value !== null && Number.isFinite(value) && value > 0, `${k} = ${value}`).toBe(true);
  }
}

describe('phi3 bench', () => {
  test('-o json on the default model prints exactly the DESIGN.md fields', async () => {
    const r = await runCli(['bench', '-p', '16', '-n', '4', '-r', '2', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const result = JSON.parse(r.stdout) as BenchResult;
    expectSaneResult(result);
    expect(result.model).toBe('phi3-shakespeare-tiny');
  });

  test('-o md prints a llama-bench table with pp and tg rows', async () => {
    const r = await runCli(['bench', '-p', '8', '-n', '2', '-r', '1', '--dtype', 'q8_0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\| model \| params \| variant \| kernels \| threads \| test \| t\/s \|$/m);
    expect(r.stdout).toMatch(/^\| phi3-shakespeare-tiny q8_0 \| 5\.38 M \| phi3 \| (wasm|ts) \| 1 \| pp8 \| [\d.]+ ± [\d.]+ \|$/m);
    expect(r.stdout).toMatch(/^\| phi3-shakespeare-tiny q8_0 \| 5\.38 M \| phi3 \| (wasm|ts) \| 1 \| tg2 \| [\d.]+ ± [\d.]+ \|$/m);
  });

  test('--random phi-3-mini builds real-width random weights (one layer here, to stay fast)', async () => {
    const r = await runCli(['bench', '--random', 'phi-3-mini', '--layers', '1', '-p', '2', '-n', '1', '-r', '1', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as BenchResult;
    expectSaneResult(result);
    expect(result.model).toBe('phi-3-mini (1 layers) random f32');
    // embed + lm_head [32064, 3072] and one layer of f32 weights are resident
    expect(result.peak_rss_mb).toBeGreaterThan((2 * 32064 * 3072 * 4) / 2 ** 20);
  });

  test('-n 0 or -p 0 skips that test, as llama-bench does: no table row, null in JSON', async () => {
    const prefillOnly = await runCli(['bench', '-p', '8', '-n', '0', '-r', '1']);
    expect(prefillOnly.code, prefillOnly.stderr).toBe(0);
    expect(prefillOnly.stdout).toMatch(/\| pp8 \| [\d.]+ ± [\d.]+ \|$/m);
    expect(prefillOnly.stdout).not.toMatch(/\| tg/);
    const decodeOnly = await runCli(['bench', '-p', '0', '-n', '2', '-r', '1', '-o', 'json']);
    expect(decodeOnly.code, decodeOnly.stderr).toBe(0);
    const result = JSON.parse(decodeOnly.stdout) as BenchResult;
    expect(Object.keys(result)).toEqual(FIELDS);
    expect(result.prefill_tok_s).toBeNull();
    expect(result.decode_tok_s).toBeGreaterThan(0);
  });

  const errors: [string, string[], number, RegExp][] = [
    ['nothing to measure', ['-p', '0', '-n', '0'], 2, /-p 0 and -n 0: nothing to measure/],
    ['negative -n', ['-n', '-1'], 2, /argument '-1' is invalid. must be an integer ≥ 0/],
    ['threads with the TypeScript kernels', ['-t', '2', '--kernels', 'ts'], 2, /2 threads need the wasm kernels/],
    ['unknown random model', ['--random', 'phi-4'], 2, /argument 'phi-4' is invalid/],
    ['--layers without --random', ['--layers', '2'], 2, /--layers only applies to --random/],
    ['bad output format', ['-o', 'csv'], 2, /argument 'csv' is invalid/],
    ['-p past the context', ['-p', '600', '-r', '1'], 1, /-p 600 exceeds the model's context of 512 tokens/],
  ];
  for (const [name, args, code, pattern] of errors) {
    test(`${name} → exit ${code}, one line`, async () => {
      const r = await runCli(['bench', ...args]);
      expect(r.code).toBe(code);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    });
  }
});
