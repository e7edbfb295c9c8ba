/**
 * `Phi3ImageEmbedding` (image_embedding_phi3_v.py) after CLIP: the 2×2 merge of each crop's 24×24
 * features, the tiles laid out in their grid with a `sub_GN` after every row, one `glb_GN`, the global
 * view with its own `sub_GN` row separators, and the projection MLP Linear → GELU(erf) → Linear.
 * See phi3v-notes.md §5.2.
 */
import { geluErfInto, linearInto, type WeightMatrix } from '@phi3/tensor';
import { readMatrix, readTensor, type WeightSource } from '../weights/source.ts';
import { clipFeatures, loadClipWeights, type ClipVisionConfig, type ClipWeights } from './clip.ts';
import type { ProcessedImage } from './image-processor.ts';

/** The image-embedding part of a phi3_v config (`embd_layer` + `img_processor`). */
export interface ImageEmbeddingConfig {
  readonly clip: ClipVisionConfig;
  /** HF: embd_layer.hd_transform_order — where the global view goes relative to the tiles */
  readonly hdTransformOrder: 'sub_glb' | 'glb_sub';
  /** D of the decoder (projection output width) */
  readonly hiddenSize: number;
}

/** Weights of `model.vision_embed_tokens.*`. */
export interface ImageEmbeddingWeights {
  readonly clip: ClipWeights;
  readonly glbGN: Float32Array; // [4C]
  readonly subGN: Float32Array; // [4C]
  readonly proj0: { readonly w: WeightMatrix; readonly b: Float32Array }; // [D, 4C], [D]
  readonly proj2: { readonly w: WeightMatrix; readonly b: Float32Array }; // [D, D], [D]
}

/** Prefix of the image embedding tensors in the HF checkpoint. */
export const VISION_PREFIX = 'model.vision_embed_tokens.';

/** Reads `model.vision_embed_tokens.*`, checking shapes. */
export function loadImageEmbeddingWeights(src: WeightSource, cfg: ImageEmbeddingConfig): ImageEmbeddingWeights {
  const C4 = 4 * cfg.clip.hiddenSize;
  const D = cfg.hiddenSize;
  const p = VISION_PREFIX;
  return {
    clip: loadClipWeights(src, cfg.clip, `${p}img_processor.vision_model.`),
    glbGN: readTensor(src, `${p}glb_GN`, [1, 1, C4]),
    subGN: readTensor(src, `${p}sub_GN`, [1, 1, 1, C4]),
    proj0: { w: readMatrix(src, `${p}img_projection.0.weight`, D, C4), b: readTensor(src, `${p}img_projection.0.bias`, [D]) },
    proj2: { w: readMatrix(src, `${p}img_projection.2.weight`, D, D), b: readTensor(src, `${p}img_projection.2.bias`, [D]) },
  };
}

/**
 * Writes the 2×2-merged features of one crop, row by row, into `out`, each row of `side` tokens
 * followed by `subGN`. Merged token (r, c) is `[f(2r,2c), f(2r,2c+1), f(2r+1,2c), f(2r+1,2c+1)]`.
 * @param features [G·G, C] f32 of one crop (G = 24 patches per side)
 * @param tiles    crops of one grid row of tiles (their merged rows are laid side by side)
 * @returns the next free row of `out`
 */
function writeMergedRows(out: Float32Array, row: number, tiles: readonly Float32Array[], G: number, C: number, subGN: Float32Array): number {
  const C4 = 4 * C;
  for (let r = 0; r < G / 2; r++) {
    for (const f of tiles) {
      for (let c = 0; c < G / 2; c++) {
        const dst = row++ * C4;
        for (let q = 0; q < 4; q++) {
          const y = 2 * r + (q >> 1); // quadrant order (dy, dx): (0,0) (0,1) (1,0) (1,1)
          const x = 2 * c + (q & 1);
          out.set(f.subarray((y * G + x) * C, (y * G + x + 1) * C), dst + q * C);
        }
      }
    }
    out.set(subGN, row++ * C4);
  }
  return row;
}

/**
 * The rows fed to the projection for one image (HF `hd_feature_transform` of Phi3ImageEmbedding).
 * @param crops [1 + rows·cols] crop features, each [G·G, C] f32 (crop 0 = global view)
 * @returns [numImgTokens, 4C] f32
 */
export function assembleHdFeatures(
  crops: readonly Float32Array[], rows: number, cols: number, C: number,
  w: Pick<ImageEmbeddingWeights, 'glbGN' | 'subGN'>, order: 'sub_glb' | 'glb_sub',
): Float32Array {
  const G = Math.round(Math.sqrt(crops[0].length / C));
  const half = G / 2;
  const count = rows * half * (cols * half + 1) + 1 + half * (half + 1);
  const out = new Float32Array(count * 4 * C);
  const writeTiles = (row: number): number => {
    for (let r = 0; r < rows; r++) row = writeMergedRows(out, row, crops.slice(1 + r * cols, 1 + (r + 1) * cols), G, C, w.subGN);
    return row;
  };
  const writeGlobal = (row: number): number => writeMergedRows(out, row, [crops[0]], G, C, w.subGN);
  let row = 0;
  row = order === 'sub_glb' ? writeTiles(row) : writeGlobal(row);
  out.set(w.glbGN, row++ * 4 * C);
  row = order === 'sub_glb' ? writeGlobal(row) : writeTiles(row);
  return out;
}

/**
 * `img_projection`: Linear(4C → D), exact GELU (nn.GELU()), Linear(D → D), on every row.
 * @param hd [n, 4C] f32
 * @returns [n, D] f32
 */
export function projectImageFeatures(hd: Float32Array, n: number, w: ImageEmbeddingWeights): Float32Array {
  const D = w.proj0.b.length;
  const mid = new Float32Array(n * D);
  linearInto(mid, hd, w.proj0.w, n, w.proj0.b);
  geluErfInto(mid, mid);
  const out = new Float32Array(n * D);
  linearInto(out, mid, w.proj2.w, n, w.proj2.b);
  return out;
}

/** Every intermediate of embedding one image (verify compares them with the fixture files). */
export interface ImageEmbeddingResult {
  /** [realCrops, G·G, C] f32 — CLIP features of the non-padding crops, global first */
  readonly clipFeatures: Float32Array;
  /** [numImgTokens, 4C] f32 — input of the projection */
  readonly hdFeatures: Float32Array;
  /** [numImgTokens, D] f32 — the rows spliced into the sequence */
  readonly imgEmbeds: Float32Array;
}

/**
 * Embeds one preprocessed image. Zero-padding crops are skipped: crops do not interact and the
 * reference discards their features.
 */
export function embedImage(image: ProcessedImage, w: ImageEmbeddingWeights, cfg: ImageEmbeddingConfig): ImageEmbeddingResult {
  const S = cfg.clip.imageSize;
  const cropLen = 3 * S * S;
  const crops: Float32Array[] = [];
  for (let i = 0; i < image.realCrops; i++) {
    crops.push(clipFeatures(image.pixelValues.subarray(i * cropLen, (i + 1) * cropLen), w.clip, cfg.clip));
  }
  const C = cfg.clip.hiddenSize;
  const hdFeatures = assembleHdFeatures(crops, image.plan.rows, image.plan.cols, C, w, cfg.hdTransformOrder);
  const clipAll = new Float32Array(crops.length * crops[0].length);
  crops.forEach((f, i) => clipAll.set(f, i * f.length));
  return { clipFeatures: clipAll, hdFeatures, imgEmbeds: projectImageFeatures(hdFeatures, image.numImgTokens, w) };
}
