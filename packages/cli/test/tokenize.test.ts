// `phi3 tokenize` through the real entry point (tsx + main.ts in a child process).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TOKENIZERS = `${ROOT}fixtures/tokenizers/`;

function tokenize(args: string[], stdin = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(`${ROOT}node_modules/.bin/tsx`, [`${ROOT}packages/cli/src/main.ts`, 'tokenize', ...args], {
    cwd: '/tmp', input: stdin, encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--jsonl: one JSON array of ids per input line, equal to the reference ids; --decode reverses', () => {
  const cases = (JSON.parse(readFileSync(`${TOKENIZERS}phi3/cases.json`, 'utf8')).cases as { text: string; ids: number[]; decoded: string }[]).slice(0, 40);
  const r = tokenize(['-m', `${TOKENIZERS}phi3`, '--jsonl'], cases.map((c) => JSON.stringify(c.text)).join('\n') + '\n');
  expect(r.stderr).toBe('');
  expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(cases.map((c) => c.ids));
  const back = tokenize(['-m', `${TOKENIZERS}phi3`, '--jsonl', '--decode'], cases.map((c) => JSON.stringify(c.ids)).join('\n'));
  expect(back.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(cases.map((c) => c.decoded));
});

test('--text on a Phi-3-small tokenizer folder, --bos, and a GGUF file with --decode', () => {
  expect(tokenize(['-m', `${TOKENIZERS}phi3small`, '--text', '<|user|>\nHello']).stdout).toBe('[100262,198,9906]\n');
  expect(tokenize(['-m', `${TOKENIZERS}phi3small`, '--text', 'Hello', '--bos']).stdout).toBe('[100257,9906]\n');
  const gguf = `${TOKENIZERS}phi3/llamacpp/ggml-vocab-phi-3.gguf`;
  expect(tokenize(['--model', gguf, '--decode', '--text', '1 15043 3186']).stdout).toBe('<s> Hello world\n');
});

test('--pieces shows each id with its vocabulary piece', () => {
  const r = tokenize(['-m', `${TOKENIZERS}phi3`, '--text', 'Hi 🦙', '--pieces']);
  expect(r.stdout).toContain('"▁Hi"');
  expect(r.stdout).toContain('"<0xF0>"');
  expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('6 tokens') // ▁Hi ▁ + 4 byte pieces;
});

test('bad inputs are one-line errors with exit codes 1 (files) and 2 (usage)', () => {
  const missing = tokenize(['-m', '/nonexistent/model', '--text', 'x']);
  expect([missing.code, missing.stderr]).toEqual([1, 'error: /nonexistent/model: no such file or folder\n']);
  const badLine = tokenize(['-m', `${TOKENIZERS}phi3`, '--jsonl'], '"ok"\n42\n');
  expect([badLine.code, badLine.stdout, badLine.stderr]).toEqual([2, '[3431]\n', 'error: stdin line 2: expected a JSON string\n']);
  const both = tokenize(['-m', `${TOKENIZERS}phi3`, '--text', 'x', '--jsonl']);
  expect([both.code, both.stderr]).toEqual([2, "error: option '--text <text>' cannot be used with option '--jsonl'\n"]);
  const badIds = tokenize(['-m', `${TOKENIZERS}phi3`, '--decode', '--text', '[1, 99999]']);
  expect([badIds.code, badIds.stderr]).toEqual([2, 'error: --text: expected token ids in [0, 32011)\n']);
});
