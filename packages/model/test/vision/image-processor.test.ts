import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImage } from '../../src/vision/image.ts';
import { planHdTransform } from '../../src/vision/hd-transform.ts';
import {
  countImageTokens,
  loadImageProcessorConfig,
  parseImageProcessorConfig,
  preprocessImage,
} from '../../src/vision/image-processor.ts';
import { checkPixelSummary, type PixelValuesSummary } from '../../src/vision/pixel-summary.ts';
import { ConfigError, ImageError } from '../../src/errors.ts';

const FIXTURE = join(import.meta.dirname, '../../../../fixtures/phi3v-tiny');

interface PreprocessedEntry {
  image: string;
  hd_image: string;
  hd_image_size_wh: [number, number];
  image_sizes: [number, number][];
  crop_grid_hw: [number, number];
  num_img_tokens: number[];
  real_crops: number;
}
const preprocessed = JSON.parse(readFileSync(join(FIXTURE, 'preprocessed.json'), 'utf8')) as { images: PreprocessedEntry[] };
const summaries = JSON.parse(readFileSync(join(FIXTURE, 'pixel_values.summary.json'), 'utf8')) as { images: PixelValuesSummary[] };
const cfg = loadImageProcessorConfig(FIXTURE);

describe.each(preprocessed.images)('Phi3VImageProcessor on $image', (entry) => {
  const processed = preprocessImage(readImage(join(FIXTURE, entry.image)), cfg, entry.image);

  it('reports the padded HD size, tile grid and token count of the reference', () => {
    expect(processed.imageSize).toEqual(entry.image_sizes[0]);
    expect([processed.plan.rows, processed.plan.cols]).toEqual(entry.crop_grid_hw);
    expect(processed.numImgTokens).toBe(entry.num_img_tokens[0]);
    expect(processed.realCrops).toBe(entry.real_crops);
  });

  it('produces the HD image (resize + white padding) byte for byte', () => {
    const expected = readImage(join(FIXTURE, entry.hd_image));
    expect([processed.hdImage.width, processed.hdImage.height]).toEqual(entry.hd_image_size_wh);
    let mismatches = 0;
    for (let i = 0; i < expected.data.length; i++) if (expected.data[i] !== processed.hdImage.data[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('produces pixel_values bit for bit (sha256 of every crop)', () => {
    const summary = summaries.images.find((s) => s.image === entry.image)!;
    const check = checkPixelSummary(processed.pixelValues, summary);
    expect(check.mismatchedCrops).toEqual([]);
    expect(check.maxSampleDiff).toBe(0);
    expect(check.bitExact).toBe(true);
  });
});

describe('planHdTransform (worked examples of phi3v-notes.md §4)', () => {
  it.each([
    // [w, h, numCrops, rows, cols, tokens]
    [50, 30, 4, 2, 2, 757],
    [30, 80, 4, 2, 1, 469],
    [70, 20, 4, 1, 3, 601],
    [1344, 1344, 16, 4, 4, 2509],
  ])('%ix%i with num_crops %i → %i×%i tiles, %i tokens', (w, h, n, rows, cols, tokens) => {
    const plan = planHdTransform(w, h, n);
    expect([plan.rows, plan.cols]).toEqual([rows, cols]);
    expect(countImageTokens(plan.rows, plan.cols)).toBe(tokens);
  });

  it('pads a portrait image left/right: 30x80 → 672x252 landscape, pad 42/42', () => {
    const plan = planHdTransform(30, 80, 4);
    expect(plan).toMatchObject({ transposed: true, resizeW: 672, resizeH: 252, padTop: 42, padBottom: 42, width: 336, height: 672 });
  });

  it('never exceeds num_crops tiles and always makes the long side s·336', () => {
    for (let w = 1; w <= 200; w += 7) {
      for (let h = 1; h <= 200; h += 11) {
        for (const n of [1, 4, 9, 16]) {
          let plan;
          try {
            plan = planHdTransform(w, h, n);
          } catch (e) {
            expect(e).toBeInstanceOf(ImageError);
            continue;
          }
          expect(plan.rows * plan.cols).toBeLessThanOrEqual(n);
          expect(plan.resizeW % 336).toBe(0);
          expect(plan.width % 336 + (plan.height % 336)).toBe(0);
        }
      }
    }
  });

  it('refuses an aspect ratio whose short side would vanish', () => {
    expect(() => planHdTransform(2000, 1, 1, 'thin.png')).toThrow(/thin\.png: aspect ratio 2000x1 is too extreme/);
  });
});

describe('preprocessImage structure on a synthetic 70x20 image (1×3 tiles, odd-scale global view)', () => {
  const width = 70;
  const height = 20;
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + (i >> 5)) & 255);
  const p = preprocessImage({ width, height, data }, cfg);
  const S = 336;
  const hd = (c: number, y: number, x: number) => {
    const u8 = p.hdImage.data[(y * p.hdImage.width + x) * 3 + c];
    return Math.fround(Math.fround(Math.fround(u8 / 255) - Math.fround(cfg.imageMean[c])) / Math.fround(cfg.imageStd[c]));
  };
  const at = (crop: number, c: number, y: number, x: number) => p.pixelValues[((crop * 3 + c) * S + y) * S + x];

  it('has the notes geometry: 1008x336 HD image, 601 tokens, white padding rows', () => {
    expect(p.imageSize).toEqual([336, 1008]);
    expect(p.numImgTokens).toBe(601);
    expect(p.plan).toMatchObject({ resizeW: 1008, resizeH: 288, padTop: 24, padBottom: 24 });
    for (const y of [0, 23, 312, 335]) expect(p.hdImage.data[(y * 1008 + 500) * 3]).toBe(255);
  });

  it('normalises tiles as (u8/255 − mean)/std in float32 and lays them out row-major', () => {
    for (const [t, y, x] of [[0, 0, 0], [1, 100, 200], [2, 335, 335], [2, 30, 7]]) {
      for (let c = 0; c < 3; c++) expect(at(1 + t, c, y, x)).toBe(hd(c, y, t * S + x));
    }
  });

  it('takes the global view of an odd 1×3 downscale by picking pixel (y, 3x + 1)', () => {
    for (const [y, x] of [[0, 0], [17, 200], [335, 335]]) {
      for (let c = 0; c < 3; c++) expect(at(0, c, y, x)).toBe(hd(c, y, 3 * x + 1));
    }
  });

  it('pads with all-zero crops up to num_crops + 1', () => {
    expect(p.pixelValues.length).toBe(5 * 3 * S * S);
    expect(p.pixelValues.subarray(4 * 3 * S * S).every((v) => v === 0)).toBe(true);
  });
});

describe('parseImageProcessorConfig', () => {
  it('reads num_crops and the CLIP constants', () => {
    expect(cfg).toEqual({ numCrops: 4, imageMean: [0.48145466, 0.4578275, 0.40821073], imageStd: [0.26862954, 0.26130258, 0.27577711] });
  });
  it('rejects bad values with the field name', () => {
    expect(() => parseImageProcessorConfig({ num_crops: 0 })).toThrow(ConfigError);
    expect(() => parseImageProcessorConfig({ num_crops: 4, image_std: [1, 2] })).toThrow(/image_std/);
  });
});
