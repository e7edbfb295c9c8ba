// `phi3 generate --image` end to end through the real binary, on phi3v-tiny with a stand-in
// byte-fallback tokenizer (the fixture ships none; its toy ids are bytes + 3, as here).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createContinuationStream, DEFAULT_SAMPLING, generate, InferenceSession, loadModel, loadTokenizer, prepareVisionPrompt, renderChat,
  visionLogitsSession, withImageTags,
} from '@phi3/model';
import { PHI3V_FIXTURE, phi3vTinyWithTokenizer } from './helpers/phi3v-model.ts';
import { runCli } from './helpers/run-cli.ts';

describe('phi3 generate --image', () => {
  const dir = phi3vTinyWithTokenizer();
  const image = join(PHI3V_FIXTURE, 'gradient.png');

  it('streams the same text as the library path (chat template, tags added, image rows spliced)', async () => {
    const model = loadModel(dir);
    const tokenizer = loadTokenizer(dir);
    const text = renderChat(tokenizer, [{ role: 'user', content: withImageTags('Describe the image.', 1) }], {});
    const prompt = prepareVisionPrompt(model, tokenizer, text, [image]);
    expect(prompt.inputIds.filter((id) => id === -1)).toHaveLength(757);
    let expected = '';
    const request = { promptIds: prompt.tokens, maxNewTokens: 6, contextLength: 4096, sampling: DEFAULT_SAMPLING, eosIds: new Set<number>(), ignoreEos: true };
    for await (const step of generate(visionLogitsSession(new InferenceSession(model), prompt), createContinuationStream(tokenizer, prompt.tokens), request)) {
      expected += step.text;
    }
    const r = await runCli(['generate', '-m', dir, '--chat', '--image', image, '-p', 'Describe the image.', '-n', '6', '--temp', '0', '--ignore-eos', '--kernels', 'ts']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
  });

  it('fails with one-line errors for unreadable images, missing images and text-only models', async () => {
    const missing = await runCli(['generate', '-m', dir, '--image', join(dir, 'nope.png'), '-p', 'hi', '-n', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`error: ${join(dir, 'nope.png')}: cannot read image (ENOENT)`);
    const tags = await runCli(['generate', '-m', dir, '--image', image, '-p', '<|image_1|><|image_2|>', '-n', '1']);
    expect(tags.code).toBe(1);
    expect(tags.stderr.trim()).toMatch(/^error: 1 image\(s\) given but the prompt has 2 image tag\(s\)/);
    const text = await runCli(['generate', '--image', image, '-p', 'hi', '-n', '1']);
    expect(text.code).toBe(2); // a flag the model cannot use is a usage error, as in chat
    expect(text.stderr.trim()).toMatch(/^error: --image: this model \(phi3\) does not take images/);
  });
});
