// run-main.ts through the real entry point: what every command shares (exit codes, stdout handling).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('a stdout reader that goes away (| head -1) ends any command quietly: no stack trace, exit 0', async () => {
  const child = spawn(`${ROOT}node_modules/.bin/tsx`, [`${ROOT}packages/cli/src/main.ts`, 'tokenize', '-m', `${ROOT}fixtures/tokenizers/phi3`, '--jsonl'], {
    cwd: '/tmp', stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy()); // like `head -1` exiting after its first line
  child.stdin.on('error', () => {}); // the child may exit before it has read all of its input
  child.stdin.end(`${JSON.stringify('To be, or not to be, that is the question. '.repeat(20))}\n`.repeat(5000));
  const code = await new Promise((resolve) => child.on('close', resolve));
  expect(stderr).toBe('');
  expect(code).toBe(0);
});
