// The `phi3 serve` command: flag errors exit 2 with one line, loopback by default, --ctx-size
// bounds each request's context, -v logs one line per generation.
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { startServer } from './server/harness.ts';

describe('phi3 serve: usage errors exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['port out of range', ['--port', '70000'], /--port.*port number/],
    ['context above the model\'s', ['--ctx-size', '4096'], /--ctx-size 4096 exceeds the model's context length of 512/],
    ['unknown weight dtype (the placement flags of generate)', ['--dtype', 'q9_9'], /--dtype.*q9_9/],
    ['threads with the TypeScript kernels', ['--kernels', 'ts', '-t', '2'], /2 threads need the wasm kernels/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      const r = await runCli(['serve', ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    });
  }
});

interface CompletionJson {
  choices: { finish_reason: string }[];
  usage: { total_tokens: number };
  error: Record<string, unknown>;
}

describe('phi3 serve', () => {
  test('listens on 127.0.0.1 by default; a second server on the same port is a one-line error; SIGTERM cuts a running stream and exits 0', async () => {
    const server = await startServer();
    let stopped = false;
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await runCli(['serve', '--port', new URL(server.url).port]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd()).toMatch(/^error: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/);

      const res = await fetch(`${server.url}/v1/completions`, {
        method: 'POST', body: JSON.stringify({ prompt: 'ROMEO:', max_tokens: 400, ignore_eos: true, stream: true }),
      });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      expect(await server.stop()).toBe(0);
      stopped = true;
      let text = '';
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
      } catch {
        // the connection was cut: expected
      }
      expect(text).not.toContain('[DONE]');
    } finally {
      if (!stopped) await server.stop();
    }
  });

  test('--ctx-size bounds prompt + completion of every request; -v logs each generation', async () => {
    const server = await startServer(['--ctx-size', '24', '-v']);
    try {
      const post = async (body: object) => {
        const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as CompletionJson };
      };
      // No max_tokens: generate until the 24-token context is full.
      const full = await post({ prompt: 'ROMEO:', ignore_eos: true, temperature: 0 });
      expect(full.status).toBe(200);
      expect(full.json.choices[0].finish_reason).toBe('length');
      expect(full.json.usage.total_tokens).toBe(24);
      const long = await post({ prompt: 'ROMEO: '.repeat(10) });
      expect(long.status).toBe(400);
      expect(long.json.error).toMatchObject({ code: 'context_length_exceeded', param: 'prompt' });
      expect(server.stderr()).toMatch(/generation: \d+ prompt \+ \d+ generated tokens, finish length/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
