/**
 * Phi-3-vision-128k and Phi-3.5-vision: HF model_type "phi3_v" (modeling_phi3_v.py,
 * image_embedding_phi3_v.py; semantics in fixtures/phi3v-notes.md).
 *
 *   text decoder = the Phi-3-mini decoder of variants/phi3.ts, unchanged (RMSNorm, fused qkv/gate_up,
 *                  LongRoPE "su"); only the input embeddings differ:
 *   embeddings   = embed_tokens[clamp(ids, 0)], then the rows at the negative-id positions are
 *                  overwritten, in order, by the projected image features (vision/*, see
 *                  vision/vision-prompt.ts)
 *
 * LongRoPE policy: the Phi-3.5-vision copy of the modeling code drops the cache once when the length
 * first passes original_max_position_embeddings (the phi3 policy, used here); Phi-3-vision-128k keeps
 * the short-factor keys in its cache instead (phi3v-notes.md §7). The two agree below 4097 tokens.
 */
import type { ConfigReader, Phi3Config } from '../config.ts';
import type { DecoderVariant } from '../decoder.ts';
import { embedImage, loadImageEmbeddingWeights, type ImageEmbeddingConfig, type ImageEmbeddingResult, type ImageEmbeddingWeights } from '../vision/image-embedding.ts';
import type { ImageProcessorConfig, ProcessedImage } from '../vision/image-processor.ts';
import { loadSiblingImageProcessorConfig, parseImageEmbeddingConfig } from '../vision/vision-config.ts';
import { phi3VisionVerifyHook } from '../verify/vision.ts';
import type { WeightSource } from '../weights/source.ts';
import { buildPhi3, parsePhi3Config } from './phi3.ts';
import type { VariantModule } from './registry.ts';

/** Phi-3(.5)-vision: the phi3 decoder fields plus the image path. */
export interface Phi3VConfig extends Omit<Phi3Config, 'kind'> {
  readonly kind: 'phi3_v';
  /** HF: img_processor + embd_layer */
  readonly vision: ImageEmbeddingConfig;
  /** preprocessor_config.json */
  readonly imageProcessor: ImageProcessorConfig;
}

declare module '../config.ts' {
  interface ConfigByKind {
    phi3_v: Phi3VConfig;
  }
}

/** config.json (+ preprocessor_config.json next to it) → Phi3VConfig. */
export function parsePhi3VConfig(r: ConfigReader): Phi3VConfig {
  const text = parsePhi3Config(r); // same keys and checks as phi3
  return {
    ...text,
    kind: 'phi3_v',
    vision: parseImageEmbeddingConfig(r, text.hiddenSize),
    imageProcessor: loadSiblingImageProcessorConfig(r),
  };
}

/** The phi3 decoder plus the image embedder (CLIP tower, separators, projection). */
export interface Phi3VDecoder extends DecoderVariant {
  readonly config: Phi3VConfig;
  /** Runs one preprocessed image through CLIP, the merge and the projection. */
  embedImage(image: ProcessedImage): ImageEmbeddingResult;
}

/** Reads the weights: the phi3 decoder's, then `model.vision_embed_tokens.*` (shape-checked). */
export function buildPhi3V(c: Phi3VConfig, w: WeightSource): Phi3VDecoder {
  const text = buildPhi3({ ...c, kind: 'phi3' }, w);
  const vision: ImageEmbeddingWeights = loadImageEmbeddingWeights(w, c.vision);
  return {
    ...text,
    config: c,
    embedImage: (image) => embedImage(image, vision, c.vision),
  };
}

/** Registry entry for model_type "phi3_v". */
export const phi3VisionVariant: VariantModule<Phi3VConfig> = {
  kind: 'phi3_v',
  modelTypes: ['phi3_v'],
  parseConfig: parsePhi3VConfig,
  build: buildPhi3V,
  verifyHook: phi3VisionVerifyHook,
};
