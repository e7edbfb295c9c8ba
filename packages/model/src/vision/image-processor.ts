/**
 * `Phi3VImageProcessor.preprocess` (image_processing_phi3_v.py): HD transform → ToTensor + Normalize
 * (float32) → bicubic global view + row-major tiles → zero-padding crops. See phi3v-notes.md §4.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { CROP_SIZE, hdTransform, type HdPlan } from './hd-transform.ts';
import type { RgbImage } from './image.ts';
import { resizeBicubicTorch } from './bicubic.ts';

/** `preprocessor_config.json` of a phi3_v checkpoint, normalised. */
export interface ImageProcessorConfig {
  /** HF: num_crops — the tile budget of the HD transform (Phi-3-vision 16, Phi-3.5-vision 4) */
  readonly numCrops: number;
  /** HF: image_mean — per-channel mean, RGB */
  readonly imageMean: readonly [number, number, number];
  /** HF: image_std — per-channel std, RGB */
  readonly imageStd: readonly [number, number, number];
}

/** OpenAI CLIP constants, transformers' `OPENAI_CLIP_MEAN` / `OPENAI_CLIP_STD` (the processor's defaults). */
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Merged image tokens per crop side: 336 px / patch 14 = 24 patches, merged 2×2 → 12. */
export const MERGED_SIDE = CROP_SIZE / 14 / 2;

/**
 * Parses a `preprocessor_config.json` object.
 * @throws ConfigError naming the field when a value is invalid
 */
export function parseImageProcessorConfig(json: Record<string, unknown>, file = 'preprocessor_config.json'): ImageProcessorConfig {
  const numCrops = json.num_crops ?? 1; // Phi3VImageProcessor.__init__ default
  if (!Number.isInteger(numCrops) || (numCrops as number) < 1 || (numCrops as number) > 1024) {
    throw new ConfigError(`${file}: num_crops must be an integer in 1..1024, got ${JSON.stringify(numCrops)}`);
  }
  const triple = (key: string, fallback: readonly [number, number, number]): [number, number, number] => {
    const v = json[key] ?? fallback;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new ConfigError(`${file}: ${key} must be 3 finite numbers, got ${JSON.stringify(v)}`);
    }
    return [v[0], v[1], v[2]];
  };
  const imageStd = triple('image_std', OPENAI_CLIP_STD);
  if (imageStd.some((x) => x === 0)) throw new ConfigError(`${file}: image_std must not contain 0`);
  return { numCrops: numCrops as number, imageMean: triple('image_mean', OPENAI_CLIP_MEAN), imageStd };
}

/**
 * Reads `<dir>/preprocessor_config.json`.
 * @throws ConfigError when the file is missing or invalid
 */
export function loadImageProcessorConfig(dir: string): ImageProcessorConfig {
  const file = join(dir, 'preprocessor_config.json');
  if (!existsSync(file)) throw new ConfigError(`${file}: missing (a phi3_v model needs its preprocessor_config.json)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null) throw new ConfigError(`${file}: expected a JSON object`);
  return parseImageProcessorConfig(json as Record<string, unknown>, file);
}

/** The processor output for one image. */
export interface ProcessedImage {
  readonly plan: HdPlan;
  /** the HD image the processor normalises: [plan.height, plan.width, 3] u8 */
  readonly hdImage: RgbImage;
  /** `image_sizes` entry: the padded HD size `[height, width]`, not the input size */
  readonly imageSize: readonly [number, number];
  /** `pixel_values`: [numCrops + 1, 3, 336, 336] f32 — global view, tiles row-major, zero crops */
  readonly pixelValues: Float32Array;
  /** crops that are not zero padding: 1 + rows·cols */
  readonly realCrops: number;
  /** `(rows·cols + 1)·144 + 1 + (rows + 1)·12` */
  readonly numImgTokens: number;
}

/** `num_img_tokens` of the processor for a tile grid (tiles + global view + one glb_GN + sub_GN per row). */
export function countImageTokens(rows: number, cols: number): number {
  const perCrop = MERGED_SIDE * MERGED_SIDE;
  return (rows * cols + 1) * perCrop + 1 + (rows + 1) * MERGED_SIDE;
}

/**
 * `ToTensor` + `Normalize` in float32: `(fround(u8 / 255) − mean) / std`, each op rounded to float32
 * (JS computes in double; one float32 rounding of a double +,−,/ of float32 inputs is exact).
 * @param img [H, W, 3] u8
 * @returns [3, H, W] f32
 */
export function normalizeImage(img: RgbImage, cfg: ImageProcessorConfig): Float32Array {
  const { width, height, data } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(cfg.imageMean[c]);
    const std = Math.fround(cfg.imageStd[c]);
    for (let p = 0; p < plane; p++) {
      const x = Math.fround(data[p * 3 + c] / 255);
      out[c * plane + p] = Math.fround(Math.fround(x - mean) / std);
    }
  }
  return out;
}

/**
 * Runs the whole processor on one decoded image.
 * @param img [h, w, 3] u8 (already RGB)
 */
export function preprocessImage(img: RgbImage, cfg: ImageProcessorConfig, label = 'image'): ProcessedImage {
  const { plan, image: hdImage } = hdTransform(img, cfg.numCrops, label);
  const { height: H, width: W, rows, cols } = plan;
  const hd = normalizeImage(hdImage, cfg); // [3, H, W]
  const cropLen = 3 * CROP_SIZE * CROP_SIZE;
  const pixelValues = new Float32Array((cfg.numCrops + 1) * cropLen); // padding crops stay zero
  // crop 0: bicubic global view of the whole (white-padded) normalised HD image
  pixelValues.set(resizeBicubicTorch(hd, 3, H, W, CROP_SIZE, CROP_SIZE), 0);
  // crops 1..: hd.reshape(3, rows, 336, cols, 336).permute(1, 3, 0, 2, 4), tile index r·cols + c
  for (let r = 0; r < rows; r++) {
    for (let tc = 0; tc < cols; tc++) {
      const cropOff = (1 + r * cols + tc) * cropLen;
      for (let ch = 0; ch < 3; ch++) {
        for (let y = 0; y < CROP_SIZE; y++) {
          const src = (ch * H + r * CROP_SIZE + y) * W + tc * CROP_SIZE; // hd[ch][r·336 + y][c·336]
          const dst = cropOff + (ch * CROP_SIZE + y) * CROP_SIZE;
          pixelValues.set(hd.subarray(src, src + CROP_SIZE), dst);
        }
      }
    }
  }
  return {
    plan,
    hdImage,
    imageSize: [H, W],
    pixelValues,
    realCrops: 1 + rows * cols,
    numImgTokens: countImageTokens(rows, cols),
  };
}
