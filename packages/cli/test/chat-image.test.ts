// `phi3 chat --image` / `/image FILE` on phi3v-tiny through the real binary in a terminal: every
// reply that brings images equals the library's greedy output for the same rendered conversation
// (prepareVisionPrompt + visionLogitsSession), and text-only turns in between stay incremental.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_SAMPLING, InferenceSession, createContinuationStream, generate, loadModel, loadTokenizer, prepareVisionPrompt, renderChat,
  visionLogitsSession, type ChatMessage,
} from '@phi3/model';
import { MAIN, TSX, runCli } from './helpers/run-cli.ts';
import { spawnInPty, type PtySession } from './helpers/pty.ts';
import { PHI3V_FIXTURE, phi3vTinyWithTokenizer } from './helpers/phi3v-model.ts';

const dir = phi3vTinyWithTokenizer();
const model = loadModel(dir);
const tokenizer = loadTokenizer(dir);
const GRADIENT = join(PHI3V_FIXTURE, 'gradient.png');
const CHECKER = join(PHI3V_FIXTURE, 'checker.png');
const CHAT = `${TSX} ${MAIN} chat -m ${dir} -n 6 --temp 0 --ignore-eos --kernels ts`;
const STATS = /\nprompt: (\d+) tokens, [\d.]+ tok\/s \| generated: 6 tokens, [\d.]+ tok\/s \| context (\d+)\/\d+\n> $/;

/** The library path: the whole conversation rendered by the template, images spliced, 6 greedy tokens. */
async function libraryReply(messages: ChatMessage[], images: string[]): Promise<{ text: string; promptTokens: number }> {
  const prompt = prepareVisionPrompt(model, tokenizer, renderChat(tokenizer, messages, { addGenerationPrompt: true }), images);
  let text = '';
  const request = { promptIds: prompt.tokens, maxNewTokens: 6, contextLength: 131072, sampling: DEFAULT_SAMPLING, eosIds: new Set<number>(), ignoreEos: true };
  for await (const step of generate(visionLogitsSession(new InferenceSession(model), prompt), createContinuationStream(tokenizer, prompt.tokens), request)) {
    text += step.text;
  }
  return { text, promptTokens: prompt.tokens.length };
}

/** Types a line; returns the reply the terminal showed and the turn's statistics. */
async function turn(chat: PtySession, line: string): Promise<{ reply: string; prompt: number; context: number }> {
  const from = chat.output().length;
  chat.type(`${line}\r`);
  const shown = await chat.waitFor(STATS, 60_000, from);
  const m = STATS.exec(shown)!;
  const reply = shown.slice(shown.indexOf(`${line}\n`) + line.length + 1, m.index);
  return { reply, prompt: Number(m[1]), context: Number(m[2]) };
}

describe('phi3 chat with images', () => {
  test('--image attaches to the first turn, /image to the next; image turns equal the library path; /clear starts over', async () => {
    const chat = spawnInPty(`${CHAT} --image ${GRADIENT}`, '/tmp');
    try {
      await chat.waitFor(/chat template mode; \/image FILE attaches an image.*\n> $/s, 60_000);
      const messages: ChatMessage[] = [{ role: 'user', content: '<|image_1|>\nDescribe the image.' }];
      const expected1 = await libraryReply(messages, [GRADIENT]);
      expect(expected1.text).not.toBe('');
      const first = await turn(chat, 'Describe the image.');
      expect(first.reply).toBe(expected1.text);
      expect(first.prompt).toBe(expected1.promptTokens);

      // A text-only turn feeds only what the template adds after the cached reply (+ its pending last token).
      messages.push({ role: 'assistant', content: first.reply });
      const second = await turn(chat, 'And then?');
      expect(second.prompt).toBe(1 + tokenizer.encode('<|end|>\n<|user|>\nAnd then?<|end|>\n<|assistant|>\n').length);
      expect(second.context).toBe(first.context + second.prompt + 6 - 1);
      messages.push({ role: 'user', content: 'And then?' }, { role: 'assistant', content: second.reply });

      // /image: the next turn gets <|image_2|> and re-prefills the conversation with both images.
      const attached = chat.output().length;
      chat.type(`/image ${CHECKER}\r`);
      await chat.waitFor(/attached to the next turn\)\n> $/, 60_000, attached);
      messages.push({ role: 'user', content: '<|image_2|>\nThis one?' });
      const expected3 = await libraryReply(messages, [GRADIENT, CHECKER]);
      const third = await turn(chat, 'This one?');
      expect(third.reply).toBe(expected3.text);
      expect(third.prompt).toBe(expected3.promptTokens);
      expect(third.context).toBe(third.prompt + 6 - 1);

      // /clear starts over as at launch: the --image file attaches to the next turn again.
      const cleared = chat.output().length;
      chat.type('/clear\r');
      await chat.waitFor(/\(conversation cleared\)\n> $/, 60_000, cleared);
      expect((await turn(chat, 'Describe the image.')).reply).toBe(expected1.text);

      chat.type('/bye\r');
      expect(await chat.exited()).toBe(0);
    } finally {
      chat.kill();
    }
  });

  test('a bad /image or image tag ends that turn only; the attached images wait for the next one', async () => {
    const expected = await libraryReply([{ role: 'user', content: '<|image_1|>\nDescribe the image.' }], [GRADIENT]);
    const r = await runCli(['chat', '-m', dir, '-n', '6', '--temp', '0', '--ignore-eos', '--kernels', 'ts', '--image', GRADIENT], {
      stdin: '/image /tmp/nope.png\n/image\n<|image_2|> hi\nDescribe the image.\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('error: /tmp/nope.png: cannot read image (ENOENT)\n');
    expect(r.stderr).toContain('error: /image needs a file: /image FILE\n');
    expect(r.stderr).toMatch(/^error: image tags must be numbered <\|image_1\|> \.\. <\|image_n\|> without gaps, got <\|image_2\|>$/m);
    expect(r.stdout).toContain(expected.text);
  });

  test('--image: text-only models are a usage error (exit 2), unreadable files exit 1, before the first prompt', async () => {
    const textOnly = await runCli(['chat', '--image', GRADIENT], { stdin: 'hi\n' });
    expect(textOnly.code).toBe(2);
    expect(textOnly.stderr.trim().split('\n').at(-1)).toBe('error: --image: this model (phi3) does not take images; use a phi3_v (Phi-3/3.5-vision) model');
    expect(textOnly.stdout).not.toContain('>');
    const missing = await runCli(['chat', '-m', dir, '--image', join(dir, 'nope.png')], { stdin: 'hi\n' });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n').at(-1)).toBe(`error: ${join(dir, 'nope.png')}: cannot read image (ENOENT)`);
  });
});
