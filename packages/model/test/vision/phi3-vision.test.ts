import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigReader } from '../../src/config.ts';
import { ConfigError, ImageError, InvalidArgumentError } from '../../src/errors.ts';
import { loadModel } from '../../src/model.ts';
import { InferenceSession } from '../../src/session.ts';
import { parsePhi3VConfig } from '../../src/variants/phi3-vision.ts';
import { verifyFixture } from '../../src/verify/verify.ts';
import { prepareVisionPrompt, spliceImageEmbeddings, visionLogitsSession } from '../../src/vision/vision-prompt.ts';
import { generate } from '../../src/generate/generate.ts';
import { DEFAULT_SAMPLING } from '../../src/generate/sampling.ts';
import { toyTokenizer as toy } from './toy-tokenizer.ts';

const FIXTURES = join(import.meta.dirname, '../../../../fixtures');
const FIXTURE = join(FIXTURES, 'phi3v-tiny');
const rawConfig = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as Record<string, unknown>;
const reader = (patch: (c: Record<string, any>) => void) => {
  const c = structuredClone(rawConfig) as Record<string, any>;
  patch(c);
  return new ConfigReader(c, join(FIXTURE, 'config.json'));
};

describe('verify phi3v-tiny (the path `phi3 verify` runs)', async () => {
  const report = await verifyFixture(FIXTURE);

  it('passes overall', () => {
    expect(report.ok).toBe(true);
  });
  it('has every case within 1e-4 of the reference logits, argmax equal', () => {
    expect(report.cases.map((c) => c.name)).toEqual(['gradient_2x2', 'checker_2x1', 'two_images', 'text_only']);
    for (const c of report.cases) {
      expect(c.maxAbsDiff).toBeLessThan(1e-4);
      expect(c.decisiveArgmaxMismatches).toEqual([]);
    }
  });
  it('generates the greedy tokens exactly (KV cache, image rows in the prompt)', () => {
    expect(report.generate.map((g) => [g.name, g.match])).toEqual([
      ['greedy_gradient_2x2', true],
      ['greedy_two_images', true],
    ]);
  });
  it('checks every intermediate: HD image, pixel_values by sha256, CLIP/merged/projected features, text argmax', () => {
    const names = report.extra.map((e) => e.name);
    for (const img of ['gradient.png', 'checker.png']) {
      for (const what of ['processor sizes', 'HD image', 'pixel_values (sha256)', 'CLIP features', 'merged features', 'image embeddings']) {
        expect(names).toContain(`${img}: ${what}`);
      }
    }
    expect(report.extra.filter((e) => !e.ok)).toEqual([]);
  });
});

describe('parsePhi3VConfig', () => {
  it('reads the text decoder like phi3 and the tiny CLIP tower', () => {
    const c = parsePhi3VConfig(reader(() => {}));
    expect(c.kind).toBe('phi3_v');
    expect(c.hiddenSize).toBe(64);
    expect(c.vision.clip).toMatchObject({ hiddenSize: 48, nLayers: 3, usedLayers: 2, nHeads: 3 });
    expect(c.vision.hdTransformOrder).toBe('sub_glb');
    expect(c.imageProcessor.numCrops).toBe(4);
  });
  it('falls back to CLIP ViT-L/14-336 without clip_vision_config', () => {
    const c = parsePhi3VConfig(reader((r) => {
      delete r.img_processor.clip_vision_config;
      r.img_processor.image_dim_out = 1024;
    }));
    expect(c.vision.clip).toMatchObject({ hiddenSize: 1024, nLayers: 24, nHeads: 16, usedLayers: 23, intermediateSize: 4096 });
  });
  it.each([
    ['img_processor.type_feature', (r: any) => (r.img_processor.type_feature = 'cls_patch')],
    ['img_processor.image_dim_out', (r: any) => (r.img_processor.image_dim_out = 64)],
    ['img_processor.layer_idx', (r: any) => (r.img_processor.layer_idx = 7)],
    ['embd_layer.projection_cls', (r: any) => (r.embd_layer.projection_cls = 'linear')],
    ['embd_layer.hd_transform_order', (r: any) => (r.embd_layer.hd_transform_order = 'glb')],
    ['img_processor.clip_vision_config.hidden_act', (r: any) => (r.img_processor.clip_vision_config.hidden_act = 'gelu')],
  ])('rejects a bad %s with a ConfigError naming it', (field, patch) => {
    expect(() => parsePhi3VConfig(reader(patch))).toThrow(ConfigError);
    expect(() => parsePhi3VConfig(reader(patch))).toThrow(field);
  });
});


describe('prepareVisionPrompt', () => {
  const model = loadModel(FIXTURE);

  it('builds ids and embeddings from text + image files that reproduce the reference case (checker_2x1)', () => {
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8'));
    const c = ref.cases.find((x: { name: string }) => x.name === 'checker_2x1');
    const prompt = prepareVisionPrompt(model, toy, c.prompt, c.images.map((f: string) => join(FIXTURE, f)));
    expect(prompt.inputIds).toEqual(c.input_ids);
    expect(prompt.tokens.every((id) => id >= 0)).toBe(true);
    const last = new InferenceSession(model).feed(prompt.tokens, { embeddings: prompt.embeddings }); // [V]
    const all = readFileSync(join(FIXTURE, c.logits));
    const want = new Float32Array(all.buffer.slice(all.byteOffset + (c.shape[0] - 1) * 512 * 4, all.byteOffset + c.shape[0] * 512 * 4));
    let diff = 0;
    for (let i = 0; i < 512; i++) diff = Math.max(diff, Math.abs(last[i] - want[i]));
    expect(diff).toBeLessThan(1e-4);
  });

  it('drives the generation loop: greedy tokens of greedy_gradient_2x2 from text + image file', async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8'));
    const g = ref.generate.find((x: { name: string }) => x.name === 'greedy_gradient_2x2');
    const c = ref.cases.find((x: { name: string }) => x.name === g.case);
    const prompt = prepareVisionPrompt(model, toy, c.prompt, c.images.map((f: string) => join(FIXTURE, f)));
    expect(prompt.inputIds).toEqual(g.prompt_ids);
    const session = visionLogitsSession(new InferenceSession(model), prompt);
    const tokens: number[] = [];
    const text = { push: () => '', flush: () => '' };
    const request = {
      promptIds: prompt.tokens, maxNewTokens: g.max_new_tokens, contextLength: 4096,
      sampling: DEFAULT_SAMPLING, eosIds: new Set<number>(),
    };
    for await (const step of generate(session, text, request)) tokens.push(step.token);
    expect(tokens).toEqual(g.expected_ids);
  });

  it('fails with one-line ImageErrors for tags without images, bad files and non-vision models', () => {
    expect(() => prepareVisionPrompt(model, toy, '<|image_1|> hi', [])).toThrow(new ImageError('prompt has <|image_1|> but no image was given'));
    expect(() => prepareVisionPrompt(model, toy, '<|image_1|>', [join(FIXTURE, 'config.json')])).toThrow(/config\.json: not a PNG or JPEG image/);
    expect(() => prepareVisionPrompt(model, toy, '<|image_1|>', [join(FIXTURE, 'nope.png')])).toThrow(/nope\.png: cannot read image \(ENOENT\)/);
    expect(() => spliceImageEmbeddings(model, [1, -1], [])).toThrow(new ImageError('the prompt has 1 image placeholder tokens but the images give 0 rows'));
    expect(() => spliceImageEmbeddings(model, [1, 512], [])).toThrow(InvalidArgumentError);
    const text = loadModel(join(FIXTURES, 'phi3-mini-tiny'));
    expect(() => prepareVisionPrompt(text, toy, 'hi', [join(FIXTURE, 'checker.png')])).toThrow(/this model \(phi3\) does not take images/);
    text.close();
  });
});
