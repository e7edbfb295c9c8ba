// `phi3 generate` through the real binary (tsx + main.ts in a child process), run from /tmp so the
// default model must be found from the source location, not the working directory.
import { mkdtempSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { MAIN, REPO_ROOT, TSX, runCli } from './helpers/run-cli.ts';
import { spawnInPty } from './helpers/pty.ts';
import type { Tokenizer } from '@phi3/model';

const SHAKESPEARE = join(REPO_ROOT, 'fixtures/phi3-shakespeare-tiny');
const reference = (await import(join(SHAKESPEARE, 'reference.json'), { with: { type: 'json' } })).default as {
  generate: { prompt_ids: number[]; expected_ids: number[] }[];
};

/** Asserts a one-line error on stderr, no stack trace, and the exit code. */
function expectOneLineError(r: { code: number | null; stderr: string; stdout: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** What a continuation of `promptIds` by `ids` prints: decode(prompt + ids) minus decode(prompt). */
function continuationText(tokenizer: Tokenizer, promptIds: number[], ids: number[]): string {
  const before = tokenizer.decode(promptIds, { skipSpecial: true });
  const all = tokenizer.decode([...promptIds, ...ids], { skipSpecial: true });
  expect(all.startsWith(before)).toBe(true);
  return all.slice(before.length);
}

describe('phi3 generate: usage errors exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['--tmep', '0.5'], /unknown option '--tmep'/],
    ['negative temperature', ['--temp', '-1'], /temperature -1/],
    ['top-p above 1', ['--top-p', '1.5'], /top-p 1\.5/],
    ['top-p 0', ['--top-p', '0'], /top-p 0/],
    ['n = 0', ['-n', '0'], /-n, --max-tokens.*positive/],
    ['negative n', ['--n-predict', '-3'], /--n-predict.*positive/],
    ['non-numeric temperature', ['--temp', 'hot'], /not a number/],
    ['fractional top-k', ['--top-k', '2.5'], /not an integer/],
    ['unknown weight dtype', ['--dtype', 'q3_k'], /argument 'q3_k' is invalid/],
    ['threads with the TypeScript kernels', ['-t', '2', '--kernels', 'ts'], /2 threads need the wasm kernels/],
    ['--system on a raw-prompt model', ['--system', 'be brief'], /--system needs the chat template/],
    ['-p together with -f', ['-f', '/etc/hostname'], /cannot be used with/],
    ['unreadable prompt file', ['-f', '/nonexistent/prompt.txt'], /cannot read prompt file/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      const withPrompt = args.includes('-f') && !name.includes('-p together') ? args : ['-p', 'ROMEO:', ...args];
      expectOneLineError(await runCli(['generate', ...withPrompt]), 2, pattern);
    });
  }
});

describe('phi3 generate: runtime errors exit 1 with one line', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'phi3-cli-'));
  /** A copy of the default model folder with `config.json` / weights replaced. */
  function brokenModel(name: string, edit: (dir: string) => void): string {
    const dir = join(scratch, name);
    mkdirSync(dir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(join(SHAKESPEARE, f), join(dir, f));
    edit(dir);
    return dir;
  }

  test('missing model folder', async () => {
    expectOneLineError(await runCli(['generate', '-m', '/nonexistent/model', '-p', 'x']), 1, /\/nonexistent\/model/);
  });
  test('corrupt weights (truncated safetensors)', async () => {
    const dir = brokenModel('truncated', (d) => writeFileSync(join(d, 'model.safetensors'), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123])));
    expectOneLineError(await runCli(['generate', '-m', dir, '-p', 'x']), 1, /model\.safetensors/);
  });
  test('unsupported model type', async () => {
    const dir = brokenModel('llama', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama' })));
    expectOneLineError(await runCli(['generate', '-m', dir, '-p', 'x']), 1, /llama/);
  });
  test('prompt longer than the context (512 tokens)', async () => {
    expectOneLineError(await runCli(['generate', '-p', 'ROMEO: '.repeat(300)]), 1, /prompt is too long: \d+ tokens .* 512/);
  });
  test('-v adds the stack trace', async () => {
    const r = await runCli(['generate', '-v', '-m', '/nonexistent/model', '-p', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*\n[\s\S]*\n\s+at /);
  });
});

describe('phi3 generate on the embedded default model', () => {
  const greedy = reference.generate[0];
  test('the README command: greedy continuation equals the reference tokens; stdout is only the text', async () => {
    const { loadTokenizer } = await import('@phi3/model');
    const tokenizer = loadTokenizer(SHAKESPEARE);
    expect(tokenizer.encode('ROMEO:')).toEqual(greedy.prompt_ids); // the CLI encodes prompts like the reference
    const r = await runCli(['generate', '-p', 'ROMEO:', '-n', String(greedy.expected_ids.length)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(continuationText(tokenizer, greedy.prompt_ids, greedy.expected_ids));
    expect(r.stderr).toBe(''); // stderr is not a TTY and no -v: quiet
  });

  test('the first generated word keeps its leading space: prompt + stdout = decode(prompt + generated)', async () => {
    const { DEFAULT_SAMPLING, InferenceSession, generate, loadModel, loadTokenizer } = await import('@phi3/model');
    const prompt = 'ROMEO: I will';
    const tokenizer = loadTokenizer(SHAKESPEARE);
    const promptIds = tokenizer.encode(prompt, { addBos: tokenizer.addBosByDefault });
    // The greedy ids, from the library loop with a stream that prints nothing (the CLI's text is checked against them).
    const model = loadModel(SHAKESPEARE);
    const ids: number[] = [];
    const silent = { push: () => '', flush: () => '' };
    for await (const step of generate(new InferenceSession(model), silent, {
      promptIds, maxNewTokens: 8, contextLength: 512, sampling: DEFAULT_SAMPLING, eosIds: new Set(tokenizer.stopIds),
    })) ids.push(step.token);
    model.close();
    expect(tokenizer.idToPiece(ids[0]).startsWith('\u2581')).toBe(true); // a ▁word: the case that lost its space

    const r = await runCli(['generate', '-p', prompt, '-n', '8']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ \S/);
    expect(prompt + r.stdout).toBe(tokenizer.decode([...promptIds, ...ids], { skipSpecial: true }));
  });

  test('the reference TypeScript kernels and two wasm threads give the same greedy text', async () => {
    const { loadTokenizer } = await import('@phi3/model');
    const expected = continuationText(loadTokenizer(SHAKESPEARE), greedy.prompt_ids, greedy.expected_ids);
    const n = String(greedy.expected_ids.length);
    for (const flags of [['--kernels', 'ts'], ['--kernels', 'wasm', '-t', '2']]) {
      const r = await runCli(['generate', '-p', 'ROMEO:', '-n', n, ...flags]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(expected);
    }
  });

  test('stdin prompt, --stop, and -v statistics on stderr', async () => {
    const r = await runCli(['generate', '-n', '12', '--stop', 'sir', '-v'], { stdin: 'ROMEO:' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('\nI will not, ');
    expect(r.stderr).toMatch(/loaded phi3-shakespeare-tiny/);
    expect(r.stderr).toMatch(/prompt: 4 tokens, [\d.]+ tok\/s \| generated: \d+ tokens, [\d.]+ tok\/s/);
  });

  test('--stop understands escapes: "\\n\\n" stops at the first blank line', async () => {
    const r = await runCli(['generate', '-p', 'ROMEO:', '-n', '40', '--stop', '\\n\\n']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('\nI will not, sir, I will not be a man.');
  });

  test('--chat wraps the prompt in the chat template (with --system)', async () => {
    const { loadTokenizer, renderChat } = await import('@phi3/model');
    const tokenizer = loadTokenizer(SHAKESPEARE);
    const expected = tokenizer.encode(renderChat(tokenizer, [{ role: 'user', content: 'Who art thou?' }], { system: 'Speak verse.' }));
    const r = await runCli(['generate', '--chat', '--system', 'Speak verse.', '-p', 'Who art thou?', '-n', '4', '-v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^prompt: ${expected.length} tokens, seed \\d+$`, 'm'));
  });

  test('an empty prompt generates from BOS alone', async () => {
    const r = await runCli(['generate', '-p', '', '-n', '6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  test('-f FILE reads the prompt from a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'phi3-prompt-')), 'prompt.txt');
    writeFileSync(file, 'ROMEO:');
    const r = await runCli(['generate', '-f', file, '-n', '6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('\nI will not, sir'); // reference ids 13, 29902, 674, 451, 29892, 8889
  });

  test('no -p/-f and stdin is a terminal → usage error instead of waiting for input', async () => {
    const term = spawnInPty(`${TSX} ${MAIN} generate`, '/tmp');
    expect(await term.exited()).toBe(2);
    expect(term.output()).toMatch(/error: no prompt: pass -p TEXT, -f FILE, or pipe text to stdin/);
  });

  test('a reader that goes away (| head) ends generation quietly, exit 0', async () => {
    const child = spawn(TSX, [MAIN, 'generate', '-p', 'ROMEO:', '-n', '400'], { cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy()); // like `head` exiting after its first line
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  test('--dtype q8_0 quantizes in memory and still generates', async () => {
    const r = await runCli(['generate', '-p', 'ROMEO:', '-n', '8', '--dtype', 'q8_0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });

  test('same seed → same text; another seed → other text', async () => {
    const args = ['generate', '-p', 'JULIET:', '-n', '24', '--temp', '0.8', '--top-k', '50', '--top-p', '0.95'];
    const a = await runCli([...args, '-s', '1']);
    const b = await runCli([...args, '-s', '1']);
    const c = await runCli([...args, '--seed', '2']);
    expect(a.code).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(0);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  test('-n past the context stops when it is full, with a note on stderr (exit 0)', async () => {
    const { loadTokenizer } = await import('@phi3/model');
    const prompt = 'ROMEO: '.repeat(126); // ~505 tokens: a few left in the 512-token context
    const promptTokens = loadTokenizer(SHAKESPEARE).encode(prompt).length;
    expect(promptTokens).toBeGreaterThan(412);
    expect(promptTokens).toBeLessThan(512);
    const r = await runCli(['generate', '-p', prompt, '--n-predict', '100']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`note: context full (512 tokens): stopped after ${512 - promptTokens} generated tokens\n`);
  });
});
