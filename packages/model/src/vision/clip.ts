/**
 * The CLIP ViT image tower of Phi-3(.5)-vision (transformers `modeling_clip.py` `CLIPVisionModel`,
 * as called by `image_embedding_phi3_v.py`): patch embedding (conv without bias) + class token +
 * position embeddings → `pre_layrnorm` → pre-norm encoder layers with quick-GELU. The feature is
 * `hidden_states[layer_idx]` (default −2, the second-to-last layer's output) without the CLS row;
 * the last layer and `post_layernorm` are never run. See phi3v-notes.md §5.1.
 */
import { addInto, denseMatrix, layerNormInto, linearInto, quickGeluInto, scaleInto, type WeightMatrix } from '@phi3/tensor';
import { attentionInto, type AttentionLayout } from '../layers/attention.ts';
import { readMatrix, readTensor, type WeightSource } from '../weights/source.ts';

/** CLIP vision hyper-parameters (HF `CLIPVisionConfig` field names, camelCased). */
export interface ClipVisionConfig {
  /** HF: hidden_size (C) */
  readonly hiddenSize: number;
  /** HF: intermediate_size (CI) */
  readonly intermediateSize: number;
  /** HF: num_hidden_layers — layers in the checkpoint (only `usedLayers` run) */
  readonly nLayers: number;
  /** HF: num_attention_heads */
  readonly nHeads: number;
  /** HF: patch_size (14) */
  readonly patchSize: number;
  /** HF: image_size (336) */
  readonly imageSize: number;
  /** HF: layer_norm_eps */
  readonly layerNormEps: number;
  /** layers run to reach `hidden_states[img_processor.layer_idx]` (N − 1 for the default −2) */
  readonly usedLayers: number;
}

/** `CLIP_VIT_LARGE_PATCH14_336_CONFIG` hard-coded in image_embedding_phi3_v.py (the real checkpoints). */
export const CLIP_VIT_LARGE_PATCH14_336 = {
  hiddenSize: 1024,
  intermediateSize: 4096,
  nLayers: 24,
  nHeads: 16,
  patchSize: 14,
  imageSize: 336,
  layerNormEps: 1e-5,
} as const;

interface LayerNormWeights {
  readonly weight: Float32Array; // [C]
  readonly bias: Float32Array; // [C]
}
interface Linear {
  readonly w: WeightMatrix; // [out, in]
  readonly b: Float32Array; // [out]
}
interface ClipLayerWeights {
  readonly ln1: LayerNormWeights;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  readonly ln2: LayerNormWeights;
  readonly fc1: Linear; // [CI, C]
  readonly fc2: Linear; // [C, CI]
}

/** The tensors of the used part of the tower. */
export interface ClipWeights {
  /** conv kernel as a matrix [C, 3·P·P] (flattened in (channel, ky, kx) order) */
  readonly patchEmbedding: WeightMatrix;
  readonly classEmbedding: Float32Array; // [C]
  readonly positionEmbedding: Float32Array; // [1 + (S/P)², C]
  readonly preLayerNorm: LayerNormWeights;
  readonly layers: readonly ClipLayerWeights[];
}

/**
 * Reads the tower's weights (only the `usedLayers` first layers) under `prefix`
 * (`model.vision_embed_tokens.img_processor.vision_model.`), checking every shape.
 */
export function loadClipWeights(src: WeightSource, cfg: ClipVisionConfig, prefix: string): ClipWeights {
  const { hiddenSize: C, intermediateSize: CI, patchSize: P } = cfg;
  const nPos = 1 + (cfg.imageSize / P) ** 2;
  const ln = (name: string): LayerNormWeights => ({
    weight: readTensor(src, `${name}.weight`, [C]),
    bias: readTensor(src, `${name}.bias`, [C]),
  });
  const linear = (name: string, rows: number, cols: number): Linear => ({
    w: readMatrix(src, `${name}.weight`, rows, cols),
    b: readTensor(src, `${name}.bias`, [rows]),
  });
  const layers: ClipLayerWeights[] = [];
  for (let j = 0; j < cfg.usedLayers; j++) {
    const p = `${prefix}encoder.layers.${j}.`;
    layers.push({
      ln1: ln(`${p}layer_norm1`),
      q: linear(`${p}self_attn.q_proj`, C, C),
      k: linear(`${p}self_attn.k_proj`, C, C),
      v: linear(`${p}self_attn.v_proj`, C, C),
      out: linear(`${p}self_attn.out_proj`, C, C),
      ln2: ln(`${p}layer_norm2`),
      fc1: linear(`${p}mlp.fc1`, CI, C),
      fc2: linear(`${p}mlp.fc2`, C, CI),
    });
  }
  const conv = readTensor(src, `${prefix}embeddings.patch_embedding.weight`, [C, 3, P, P]);
  return {
    patchEmbedding: denseMatrix(conv, C, 3 * P * P),
    classEmbedding: readTensor(src, `${prefix}embeddings.class_embedding`, [C]),
    positionEmbedding: readTensor(src, `${prefix}embeddings.position_embedding.weight`, [nPos, C]),
    preLayerNorm: ln(`${prefix}pre_layrnorm`),
    layers,
  };
}

/**
 * Cuts a crop into non-overlapping P×P patches (the im2col of a stride-P conv), row-major over the
 * patch grid; each row is flattened in (channel, ky, kx) order to match the conv weight.
 * @param crop [3, S, S] f32
 * @returns [(S/P)², 3·P·P] f32
 */
export function patchify(crop: Float32Array, imageSize: number, patchSize: number): Float32Array {
  const S = imageSize;
  const P = patchSize;
  const G = S / P; // patches per side
  const out = new Float32Array(G * G * 3 * P * P);
  let o = 0;
  for (let gy = 0; gy < G; gy++) {
    for (let gx = 0; gx < G; gx++) {
      for (let c = 0; c < 3; c++) {
        for (let ky = 0; ky < P; ky++) {
          const row = (c * S + gy * P + ky) * S + gx * P; // crop[c][gy·P + ky][gx·P]
          out.set(crop.subarray(row, row + P), o);
          o += P;
        }
      }
    }
  }
  return out;
}

/**
 * Bidirectional multi-head attention (CLIP has no mask): every query sees every key. Reuses the
 * shared causal kernel by presenting each query as the last position of the sequence.
 * @param q [T, H·Dh] f32 (already scaled by Dh^-0.5, as CLIPAttention scales q)
 * @param k [T, H·Dh] f32
 * @param v [T, H·Dh] f32
 * @returns [T, H·Dh] f32
 */
export function fullAttention(q: Float32Array, k: Float32Array, v: Float32Array, T: number, layout: AttentionLayout): Float32Array {
  const width = layout.nHeads * layout.headDim;
  const out = new Float32Array(T * width);
  for (let t = 0; t < T; t++) {
    const row = t * width;
    attentionInto(out.subarray(row, row + width), q.subarray(row, row + width), k, v, T - 1, 1, layout, 1, { window: null });
  }
  return out;
}

/**
 * Runs one crop through the tower.
 * @param crop [3, S, S] f32 normalised pixels (one crop of `pixel_values`)
 * @returns [(S/P)², C] f32 — `hidden_states[layer_idx]` without the CLS row
 */
export function clipFeatures(crop: Float32Array, w: ClipWeights, cfg: ClipVisionConfig): Float32Array {
  const { hiddenSize: C, intermediateSize: CI, nHeads } = cfg;
  const N = (cfg.imageSize / cfg.patchSize) ** 2; // patches
  const T = N + 1; // tokens: CLS + patches
  const layout: AttentionLayout = { nHeads, nKvHeads: nHeads, headDim: C / nHeads };
  // embeddings: [CLS; conv(patches)] + position embeddings   (CLIPVisionEmbeddings.forward)
  const x = new Float32Array(T * C); // residual stream [T, C]
  x.set(w.classEmbedding, 0);
  linearInto(x.subarray(C), patchify(crop, cfg.imageSize, cfg.patchSize), w.patchEmbedding, N);
  addInto(x, x, w.positionEmbedding);
  layerNormInto(x, x, w.preLayerNorm.weight, w.preLayerNorm.bias, T, C, cfg.layerNormEps);
  const h = new Float32Array(T * C);
  const q = new Float32Array(T * C);
  const k = new Float32Array(T * C);
  const v = new Float32Array(T * C);
  const mlp = new Float32Array(T * CI);
  for (const layer of w.layers) {
    // x += out_proj(attention(LN1(x)))   (CLIPEncoderLayer.forward)
    layerNormInto(h, x, layer.ln1.weight, layer.ln1.bias, T, C, cfg.layerNormEps);
    linearInto(q, h, layer.q.w, T, layer.q.b);
    scaleInto(q, q, layout.headDim ** -0.5);
    linearInto(k, h, layer.k.w, T, layer.k.b);
    linearInto(v, h, layer.v.w, T, layer.v.b);
    linearInto(h, fullAttention(q, k, v, T, layout), layer.out.w, T, layer.out.b);
    addInto(x, x, h);
    // x += fc2(quick_gelu(fc1(LN2(x))))
    layerNormInto(h, x, layer.ln2.weight, layer.ln2.bias, T, C, cfg.layerNormEps);
    linearInto(mlp, h, layer.fc1.w, T, layer.fc1.b);
    quickGeluInto(mlp, mlp);
    linearInto(h, mlp, layer.fc2.w, T, layer.fc2.b);
    addInto(x, x, h);
  }
  return x.slice(C); // drop the CLS row (type_feature "patch")
}
