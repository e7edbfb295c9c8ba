import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { fullAttention } from '../../src/vision/clip.ts';
import { assembleHdFeatures, embedImage, loadImageEmbeddingWeights, type ImageEmbeddingConfig } from '../../src/vision/image-embedding.ts';
import { loadImageProcessorConfig, preprocessImage } from '../../src/vision/image-processor.ts';
import { readImage } from '../../src/vision/image.ts';
import { openSafetensorsFolder } from '../../src/weights/source.ts';
import { maxAbsDiff } from '../../src/verify/compare.ts';
import { readF32File } from '../../src/verify/reference.ts';

const FIXTURE = join(import.meta.dirname, '../../../../fixtures/phi3v-tiny');

describe('image embedding on phi3v-tiny (CLIP → merge + separators → projection)', () => {
  // The tiny tower of config.json img_processor.clip_vision_config; layer_idx −2 → 2 of 3 layers.
  const cfg: ImageEmbeddingConfig = {
    clip: { hiddenSize: 48, intermediateSize: 96, nLayers: 3, nHeads: 3, patchSize: 14, imageSize: 336, layerNormEps: 1e-5, usedLayers: 2 },
    hdTransformOrder: 'sub_glb',
    hiddenSize: 64,
  };
  const src = openSafetensorsFolder(FIXTURE);
  const weights = loadImageEmbeddingWeights(src, cfg);
  const processor = loadImageProcessorConfig(FIXTURE);

  it.each(['gradient', 'checker'])('%s: every stage within 1e-4 of the float64 reference', (name) => {
    const result = embedImage(preprocessImage(readImage(join(FIXTURE, `${name}.png`)), processor), weights, cfg);
    const n = result.imgEmbeds.length / 64; // num_img_tokens
    expect(maxAbsDiff(result.clipFeatures, readF32File(FIXTURE, `${name}.clip_features.f32`, result.clipFeatures.length / 48, 48))).toBeLessThan(1e-4);
    expect(maxAbsDiff(result.hdFeatures, readF32File(FIXTURE, `${name}.hd_features.f32`, n, 4 * 48))).toBeLessThan(1e-4);
    expect(maxAbsDiff(result.imgEmbeds, readF32File(FIXTURE, `${name}.img_embeds.f32`, n, 64))).toBeLessThan(1e-4);
  });
});

/** HF's reshape/permute chain of Phi3ImageEmbedding.hd_feature_transform, written with strided index maps. */
function naiveHdFeatures(crops: Float32Array[], h: number, w: number, C: number, glb: Float32Array, sub: Float32Array): number[][] {
  const G = Math.sqrt(crops[0].length / C);
  const H2 = G / 2;
  // reshape(G, G, C) → (H2, 2, H2, 2, C) → permute(0, 2, 1, 3, 4) → (H2·H2, 4C)
  const merge = (f: Float32Array): number[][] => {
    const rows: number[][] = [];
    for (let r = 0; r < H2; r++) {
      for (let c = 0; c < H2; c++) {
        const row: number[] = [];
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) for (let k = 0; k < C; k++) row.push(f[((2 * r + dy) * G + 2 * c + dx) * C + k]);
        rows.push(row);
      }
    }
    return rows;
  };
  const out: number[][] = [];
  // sub_img.reshape(h, w, H2, H2, 4C).permute(0, 2, 1, 3, 4).reshape(h·H2, w·H2, 4C), + sub_GN column
  const tiles = crops.slice(1).map(merge);
  for (let R = 0; R < h * H2; R++) {
    for (let X = 0; X < w * H2; X++) out.push(tiles[Math.floor(R / H2) * w + Math.floor(X / H2)][(R % H2) * H2 + (X % H2)]);
    out.push([...sub]);
  }
  out.push([...glb]);
  const g = merge(crops[0]);
  for (let r = 0; r < H2; r++) {
    for (let c = 0; c < H2; c++) out.push(g[r * H2 + c]);
    out.push([...sub]);
  }
  return out;
}

describe('assembleHdFeatures', () => {
  test.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(2, 4, 6), fc.integer({ min: 1, max: 3 })], {
    seed: 21,
    numRuns: 40,
  })('matches the reshape/permute chain of the reference (sub_glb)', (h, w, G, C) => {
    const crops = Array.from({ length: 1 + h * w }, (_, i) => Float32Array.from({ length: G * G * C }, (_, j) => i * 1000 + j));
    const glb = Float32Array.from({ length: 4 * C }, (_, j) => -1 - j);
    const sub = Float32Array.from({ length: 4 * C }, (_, j) => -100 - j);
    const got = assembleHdFeatures(crops, h, w, C, { glbGN: glb, subGN: sub }, 'sub_glb');
    const want = naiveHdFeatures(crops, h, w, C, glb, sub);
    expect(got.length).toBe(want.length * 4 * C);
    expect(Array.from(got)).toEqual(want.flat());
  });

  it('glb_sub puts the global view first', () => {
    const C = 1;
    const crops = [new Float32Array(4).fill(7), new Float32Array(4).fill(3)];
    const got = assembleHdFeatures(crops, 1, 1, C, { glbGN: new Float32Array(4).fill(-1), subGN: new Float32Array(4).fill(-2) }, 'glb_sub');
    expect(Array.from(got)).toEqual([7, 7, 7, 7, -2, -2, -2, -2, -1, -1, -1, -1, 3, 3, 3, 3, -2, -2, -2, -2]);
  });
});

describe('fullAttention (bidirectional, via the shared causal kernel)', () => {
  test.prop([fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 })], { seed: 22, numRuns: 40 })(
    'equals softmax(q·kᵀ)·v over all keys',
    (T, H, Dh) => {
      const n = T * H * Dh;
      const q = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.7)));
      const k = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.cos(i * 1.3)));
      const v = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 2.1 + 1)));
      const got = fullAttention(q, k, v, T, { nHeads: H, nKvHeads: H, headDim: Dh });
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) {
          const s = Array.from({ length: T }, (_, j) => {
            let d = 0;
            for (let e = 0; e < Dh; e++) d += q[(t * H + h) * Dh + e] * k[(j * H + h) * Dh + e];
            return d;
          });
          const m = Math.max(...s);
          const p = s.map((x) => Math.exp(x - m));
          const z = p.reduce((a, b) => a + b, 0);
          for (let e = 0; e < Dh; e++) {
            const want = p.reduce((acc, pj, j) => acc + (pj / z) * v[(j * H + h) * Dh + e], 0);
            expect(Math.abs(got[(t * H + h) * Dh + e] - want)).toBeLessThan(1e-5);
          }
        }
      }
    },
  );
});
