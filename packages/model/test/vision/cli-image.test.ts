// `phi3 generate --image` end to end through the real binary, on phi3v-tiny with a stand-in
// byte-fallback tokenizer (the fixture ships none; its toy ids are bytes + 3, as here).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createContinuationStream, DEFAULT_SAMPLING, generate, loadModel, loadTokenizer, renderChat } from '../../src/index.ts';
import { InferenceSession } from '../../src/session.ts';
import { prepareVisionPrompt, visionLogitsSession } from '../../src/vision/vision-prompt.ts';
import { withImageTags } from '../../src/vision/prompt.ts';

const ROOT = join(import.meta.dirname, '../../../..');
const FIXTURE = join(ROOT, 'fixtures/phi3v-tiny');
const run = promisify(execFile);
const phi3 = (args: string[]) =>
  run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'packages/cli/src/main.ts'), ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** phi3v-tiny + a Llama-style tokenizer.json whose pieces are <0xNN> = 3 + byte and the Phi-3 specials at 500+. */
function modelWithTokenizer(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phi3v-cli-'));
  for (const f of readdirSync(FIXTURE)) symlinkSync(join(FIXTURE, f), join(dir, f));
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (let id = 259; id < 500; id++) vocab[`<filler_${id}>`] = id;
  const specials = ['<|endoftext|>', '<|assistant|>', '<|placeholder1|>', '<|placeholder2|>', '<|placeholder3|>', '<|placeholder4|>', '<|system|>', '<|end|>', '<|placeholder5|>', '<|placeholder6|>', '<|user|>'];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
    model: { type: 'BPE', byte_fallback: true, vocab, merges: [] },
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip' }] },
    added_tokens: [
      { id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true },
      ...specials.map((content, k) => ({ id: 500 + k, content, special: true, rstrip: content === '<|assistant|>' })),
    ],
  }));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    bos_token: '<s>', eos_token: '<|endoftext|>', add_bos_token: true,
    // Phi-3.5-vision-instruct's chat template
    chat_template: "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{- '<|assistant|>\\n' -}}{% endif %}",
  }));
  return dir;
}

describe('phi3 generate --image', () => {
  const dir = modelWithTokenizer();
  const image = join(FIXTURE, 'gradient.png');

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
    const r = await phi3(['generate', '-m', dir, '--chat', '--image', image, '-p', 'Describe the image.', '-n', '6', '--temp', '0', '--ignore-eos', '--kernels', 'ts']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
  });

  it('fails with one-line errors for unreadable images, missing images and text-only models', async () => {
    const missing = await phi3(['generate', '-m', dir, '--image', join(dir, 'nope.png'), '-p', 'hi', '-n', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`error: ${join(dir, 'nope.png')}: cannot read image (ENOENT)`);
    const tags = await phi3(['generate', '-m', dir, '--image', image, '-p', '<|image_1|><|image_2|>', '-n', '1']);
    expect(tags.code).toBe(1);
    expect(tags.stderr.trim()).toMatch(/^error: 1 image\(s\) given but the prompt has 2 image tag\(s\)/);
    const text = await phi3(['generate', '--image', image, '-p', 'hi', '-n', '1']);
    expect(text.code).toBe(2); // a flag the model cannot use is a usage error, as in chat
    expect(text.stderr.trim()).toMatch(/^error: --image: this model \(phi3\) does not take images/);
  });
});
