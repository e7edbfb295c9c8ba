// `phi3 convert` through the real entry point: a GGUF that `phi3 tokenize` and `phi3 generate` read,
// and one-line errors with exit codes for bad inputs.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';

const SHAKESPEARE = `${REPO_ROOT}fixtures/phi3-shakespeare-tiny`;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'phi3-cli-convert-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('converts a folder to q4_0 GGUF that tokenize and generate accept', async () => {
  const out = join(tmp, 'shakespeare-q4_0.gguf');
  const r = await runCli(['convert', SHAKESPEARE, '-o', out, '--quantize', 'q4_0']);
  expect(r).toMatchObject({ code: 0, stdout: '' });
  const ids = await runCli(['tokenize', '-m', out, '--text', 'ROMEO:']);
  expect(ids.stdout).toBe((await runCli(['tokenize', '-m', SHAKESPEARE, '--text', 'ROMEO:'])).stdout);
  const gen = await runCli(['generate', '-m', out, '-p', 'ROMEO:', '-n', '5', '--raw']);
  expect(gen.code).toBe(0);
  expect(gen.stdout.length).toBeGreaterThan(0);
});

test('bad inputs: existing output (2), unknown type (2), missing folder (1); no partial file left', async () => {
  const out = join(tmp, 'exists.gguf');
  expect((await runCli(['convert', SHAKESPEARE, '-o', out, '--quantize', 'f32'])).code).toBe(0);
  const again = await runCli(['convert', SHAKESPEARE, '-o', out]);
  expect(again).toMatchObject({ code: 2, stderr: `error: ${out} exists (use --force to overwrite)\n` });
  expect((await runCli(['convert', SHAKESPEARE, '-o', join(tmp, 'x.gguf'), '--quantize', 'q3_k'])).code).toBe(2);
  const missing = await runCli(['convert', join(tmp, 'nope'), '-o', join(tmp, 'y.gguf')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^error: .*nope/);
  expect(existsSync(join(tmp, 'y.gguf'))).toBe(false);
});
