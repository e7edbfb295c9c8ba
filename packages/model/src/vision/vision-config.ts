/**
 * The vision part of a phi3_v `config.json`: `img_processor` (CLIP tower, feature layer) and
 * `embd_layer` (HD transform order, separators, projection), read like `Phi3ImageEmbedding.__init__`
 * in image_embedding_phi3_v.py, plus the sibling `preprocessor_config.json`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConfigReader } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { CLIP_VIT_LARGE_PATCH14_336, type ClipVisionConfig } from './clip.ts';
import { CROP_SIZE } from './hd-transform.ts';
import type { ImageEmbeddingConfig } from './image-embedding.ts';
import { loadImageProcessorConfig, type ImageProcessorConfig } from './image-processor.ts';

/** Patch side the processor's token formula assumes (336 / 14 = 24 patches, merged to 12). */
const PATCH_SIZE = 14;

/**
 * Reads `img_processor` and `embd_layer`.
 * @param hiddenSize D of the decoder (the projection's output width)
 * @throws ConfigError naming the field for anything the reference would not run
 */
export function parseImageEmbeddingConfig(r: ConfigReader, hiddenSize: number): ImageEmbeddingConfig {
  const proc = r.child('img_processor');
  if (proc === null) throw r.error('img_processor', 'is missing (a phi3_v config needs its vision tower)');
  const name = proc.string('name', 'clip_vision_model');
  if (name !== 'clip_vision_model') throw proc.error('name', `"${name}" is not supported (only "clip_vision_model")`);
  const typeFeature = proc.string('type_feature', 'patch');
  if (typeFeature !== 'patch') throw proc.error('type_feature', `"${typeFeature}" is not supported (only "patch")`);

  // The real checkpoints hard-code CLIP ViT-L/14-336; the tiny fixtures describe their tower here.
  const cv = proc.child('clip_vision_config');
  const L = CLIP_VIT_LARGE_PATCH14_336;
  const clipBase = {
    hiddenSize: cv?.int('hidden_size') ?? L.hiddenSize,
    intermediateSize: cv?.int('intermediate_size') ?? L.intermediateSize,
    nLayers: cv?.int('num_hidden_layers') ?? L.nLayers,
    nHeads: cv?.int('num_attention_heads') ?? L.nHeads,
    patchSize: cv?.int('patch_size', L.patchSize) ?? L.patchSize,
    imageSize: cv?.int('image_size', L.imageSize) ?? L.imageSize,
    layerNormEps: cv?.positive('layer_norm_eps', L.layerNormEps) ?? L.layerNormEps,
  };
  const act = cv?.string('hidden_act', 'quick_gelu') ?? 'quick_gelu';
  if (act !== 'quick_gelu') throw cv!.error('hidden_act', `"${act}" is not supported (CLIP uses "quick_gelu")`);
  if (clipBase.hiddenSize % clipBase.nHeads !== 0) throw cv!.error('num_attention_heads', `must divide hidden_size ${clipBase.hiddenSize}`);
  if (clipBase.imageSize !== CROP_SIZE || clipBase.patchSize !== PATCH_SIZE) {
    throw (cv ?? proc).error('image_size', `and patch_size must be ${CROP_SIZE} and ${PATCH_SIZE} (the processor's crop and token layout assume them)`);
  }
  const imageDimOut = proc.int('image_dim_out', clipBase.hiddenSize);
  if (imageDimOut !== clipBase.hiddenSize) throw proc.error('image_dim_out', `(${imageDimOut}) must equal the CLIP hidden size ${clipBase.hiddenSize}`);

  // hidden_states[layer_idx]: index 0 is the embedding output, i is the output of layer i.
  const layerIdx = proc.number('layer_idx', -2);
  const N = clipBase.nLayers;
  if (!Number.isInteger(layerIdx) || layerIdx < -(N + 1) || layerIdx > N) throw proc.error('layer_idx', `must be an integer in ${-(N + 1)}..${N}`);
  const clip: ClipVisionConfig = { ...clipBase, usedLayers: layerIdx < 0 ? N + 1 + layerIdx : layerIdx };

  const embd = r.child('embd_layer');
  if (embd === null) throw r.error('embd_layer', 'is missing');
  const cls = embd.string('embedding_cls', 'image');
  if (cls !== 'image') throw embd.error('embedding_cls', `"${cls}" is not supported (only "image")`);
  if (!embd.bool('use_hd_transform', false)) throw embd.error('use_hd_transform', 'must be true (only the HD transform is supported)');
  if (!embd.bool('with_learnable_separator', false)) throw embd.error('with_learnable_separator', 'must be true');
  const projection = embd.string('projection_cls', 'linear');
  if (projection !== 'mlp') throw embd.error('projection_cls', `"${projection}" is not supported (only "mlp")`);
  const order = embd.string('hd_transform_order', 'glb_sub'); // Phi3ImageEmbedding's default
  if (order !== 'sub_glb' && order !== 'glb_sub') throw embd.error('hd_transform_order', `must be "sub_glb" or "glb_sub", got "${order}"`);
  return { clip, hdTransformOrder: order, hiddenSize };
}

/**
 * Reads the `preprocessor_config.json` next to `config.json`.
 * @throws ConfigError when it is missing or invalid
 */
export function loadSiblingImageProcessorConfig(r: ConfigReader): ImageProcessorConfig {
  const dir = dirname(r.file);
  if (!existsSync(join(dir, 'preprocessor_config.json'))) {
    throw new ConfigError(`${join(dir, 'preprocessor_config.json')}: missing (a phi3_v model folder needs it next to ${r.file})`);
  }
  return loadImageProcessorConfig(dir);
}
