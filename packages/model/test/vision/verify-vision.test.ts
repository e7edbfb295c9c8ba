import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model.ts';
import { checkImageIntermediates } from '../../src/verify/vision.ts';
import { verifyFixture } from '../../src/verify/verify.ts';
import { FixtureError } from '../../src/verify/reference.ts';
import { readImage } from '../../src/vision/image.ts';
import { prepareImages, visionDecoder } from '../../src/vision/vision-prompt.ts';

const FIXTURE = join(import.meta.dirname, '../../../../fixtures/phi3v-tiny');

describe('checkImageIntermediates with raw files next to the images', () => {
  const model = loadModel(FIXTURE);
  const cfg = visionDecoder(model).config;
  const [im] = prepareImages(model, [{ label: 'checker.png', image: readImage(join(FIXTURE, 'checker.png')) }]);
  const write = (dir: string, file: string, values: Float32Array) => writeFileSync(join(dir, file), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));

  it('compares a present .pixel_values.f32 bit for bit and the feature files within 1e-4', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi3v-verify-'));
    const pixels = im.processed.pixelValues.slice();
    pixels[12345] = Math.fround(pixels[12345] + 1e-6); // one value off: must fail, though tiny
    write(dir, 'checker.pixel_values.f32', pixels);
    const embeds = im.embedding.imgEmbeds.slice();
    embeds[7] += 5e-5; // within 1e-4
    write(dir, 'checker.img_embeds.f32', embeds);
    const hd = im.embedding.hdFeatures.slice();
    hd[0] += 1e-3; // beyond
    write(dir, 'checker.hd_features.f32', hd);
    const checks = checkImageIntermediates(dir, cfg, 'checker.png', im, undefined, undefined);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['checker.png: image embeddings', 'checker.png: merged features', 'checker.png: pixel_values']);
    expect(byName['checker.png: pixel_values'].ok).toBe(false);
    expect(byName['checker.png: pixel_values'].detail).toMatch(/^1 values differ/);
    expect(byName['checker.png: image embeddings'].ok).toBe(true);
    expect(byName['checker.png: merged features'].ok).toBe(false);
  });

  it('reports (without failing) that pixel_values were not checked when neither file nor summary exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi3v-verify-'));
    const checks = checkImageIntermediates(dir, cfg, 'checker.png', im, undefined, undefined);
    expect(checks).toEqual([expect.objectContaining({ name: 'checker.png: pixel_values', ok: true, target: false })]);
  });
});

describe('verifyFixture on a tampered phi3_v fixture', () => {
  it('refuses image placeholder ids in a case that names no images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi3v-tampered-'));
    for (const f of readdirSync(FIXTURE)) if (f !== 'reference.json') symlinkSync(join(FIXTURE, f), join(dir, f));
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8'));
    ref.cases[0].images = [];
    delete ref.cases[0].image;
    writeFileSync(join(dir, 'reference.json'), JSON.stringify(ref));
    await expect(verifyFixture(dir)).rejects.toThrow(FixtureError);
    await expect(verifyFixture(dir)).rejects.toThrow(/case gradient_2x2 has image placeholder ids but names no images/);
  });
});
