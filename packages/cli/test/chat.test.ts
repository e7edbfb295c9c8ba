// `phi3 chat` driven through a real terminal: util-linux `script` gives the process a pty, so
// readline runs in terminal mode and Ctrl-C is the real keystroke (\x03), as a user types it.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadTokenizer } from '@phi3/model';
import { MAIN, REPO_ROOT, TSX, runCli } from './helpers/run-cli.ts';
import { spawnInPty, type PtySession } from './helpers/pty.ts';

const tokenizer = loadTokenizer(join(REPO_ROOT, 'fixtures/phi3-shakespeare-tiny'));
const STATS = /prompt: (\d+) tokens, [\d.]+ tok\/s \| generated: (\d+) tokens, [\d.]+ tok\/s \| context (\d+)\/512\n/;

/** Types a line and waits for the next prompt; returns what the terminal showed for this turn. */
async function turn(chat: PtySession, keys: string, until: RegExp = /\n> $/): Promise<string> {
  const from = chat.output().length;
  chat.type(keys);
  return chat.waitFor(until, 60_000, from);
}
function statsOf(shown: string): { prompt: number; generated: number; context: number } {
  const m = STATS.exec(shown);
  expect(m, shown).not.toBeNull();
  return { prompt: Number(m![1]), generated: Number(m![2]), context: Number(m![3]) };
}

describe('phi3 chat in a terminal', () => {
  test('raw mode: KV cache kept across turns, Ctrl-C stops a reply but not the session, /clear, /bye', async () => {
    const chat = spawnInPty(`${TSX} ${MAIN} chat -n 400`, '/tmp');
    try {
      await chat.waitFor(/raw text mode.*\n> $/s, 60_000);

      // Turn 1: greedy, stopped with Ctrl-C once the first words are out.
      let from = chat.output().length;
      chat.type('ROMEO:\r');
      await chat.waitFor(/I will not, sir/, 60_000, from);
      chat.type('\x03');
      let shown = await chat.waitFor(/\[reply stopped\]\n[\s\S]*> $/, 60_000, from);
      const first = statsOf(shown);
      expect(first.prompt).toBe(tokenizer.encode('ROMEO:').length);
      expect(first.generated).toBeLessThan(400);
      expect(first.context).toBe(first.prompt + first.generated - 1); // the last token is sampled, not fed yet

      // Turn 2: only the new tokens are prefilled (the pending reply token + the typed text).
      from = chat.output().length;
      chat.type('JULIET:\r');
      await chat.waitFor(/\n\S/, 60_000, from + 'JULIET:'.length + 2);
      chat.type('\x03');
      shown = await chat.waitFor(/\[reply stopped\]\n[\s\S]*> $/, 60_000, from);
      const second = statsOf(shown);
      expect(second.prompt).toBe(1 + tokenizer.encode('JULIET:').length);
      expect(second.context).toBe(first.context + second.prompt + second.generated - 1);

      // /clear: the next turn starts from an empty cache again.
      shown = await turn(chat, '/clear\r');
      expect(shown).toContain('(conversation cleared)');
      from = chat.output().length;
      chat.type('ROMEO:\r');
      await chat.waitFor(/I will not, sir/, 60_000, from);
      chat.type('\x03');
      shown = await chat.waitFor(/\[reply stopped\]\n[\s\S]*> $/, 60_000, from);
      expect(statsOf(shown).prompt).toBe(first.prompt);

      chat.type('/bye\r');
      expect(await chat.exited()).toBe(0);
    } finally {
      chat.kill();
    }
  });

  test('chat-template mode: the second turn prefills only what follows the cached tokens', async () => {
    const chat = spawnInPty(`${TSX} ${MAIN} chat --chat --system "You are a player." -n 6`, '/tmp');
    try {
      await chat.waitFor(/chat template mode.*\n> $/s, 60_000);
      const first = statsOf(await turn(chat, 'Who are you?\r'));
      const second = statsOf(await turn(chat, 'And then?\r'));
      expect(second.context).toBe(first.context + second.prompt + second.generated - 1);
      // the whole conversation is longer than what the second turn fed
      expect(second.prompt).toBeLessThan(first.context);
      chat.type('\x04'); // Ctrl-D at the prompt exits too
      expect(await chat.exited()).toBe(0);
    } finally {
      chat.kill();
    }
  });

  test('lines piped to stdin (no terminal) are answered in order; end of input exits', async () => {
    const r = await runCli(['chat', '-n', '12'], { stdin: 'ROMEO:\n/clear\nROMEO:\n' });
    expect(r.code, r.stderr).toBe(0);
    const replies = r.stdout.split('I will not, sir, I will not be a');
    expect(replies).toHaveLength(3); // the same greedy reply twice: /clear really reset the cache
    expect(r.stdout).toContain('(conversation cleared)');
  });

  test('a turn past the context is an error for that turn only; the session goes on', async () => {
    const r = await runCli(['chat', '-n', '12'], { stdin: `${'ROMEO: '.repeat(140)}\nROMEO:\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^error: prompt is too long: \d+ tokens leave no room in the context of 512 tokens \(\/clear to start over\)$/m);
    expect(r.stdout).toContain('I will not, sir, I will not be a'); // the next turn starts from the unchanged (empty) cache
  });
});
