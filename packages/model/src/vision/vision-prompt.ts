/**
 * The library entry for prompts with images (what `generate --image` / `chat --image` call):
 * tokenize around `<|image_k|>` tags, preprocess and embed each image, and splice the image rows into
 * the input embeddings (processing_phi3_v.py + `Phi3ImageEmbedding.forward`).
 */
import type { Model } from '../model.ts';
import type { InferenceSession } from '../session.ts';
import { ImageError, InvalidArgumentError } from '../errors.ts';
import type { Phi3VDecoder } from '../variants/phi3-vision.ts';
import type { ImageEmbeddingResult } from './image-embedding.ts';
import { preprocessImage, type ProcessedImage } from './image-processor.ts';
import { readImage, type RgbImage } from './image.ts';
import { buildVisionInputIds, checkImageTags, imagePositions, splitImageTags, type ChunkTokenizer } from './prompt.ts';

/** One image of a prompt with every intermediate (verify compares them). */
export interface PreparedImage {
  readonly label: string;
  readonly processed: ProcessedImage;
  readonly embedding: ImageEmbeddingResult;
}

/** A prompt ready for `session.feed(tokens, { embeddings })`. */
export interface VisionPrompt {
  /** the processor's input_ids: `-k` at the positions of image k's rows */
  readonly inputIds: readonly number[];
  /** ids to feed: negatives clamped to 0, as HF clamps before the token lookup (those rows are overwritten) */
  readonly tokens: readonly number[];
  /** [T, D] f32 input embeddings with the image rows spliced in */
  readonly embeddings: Float32Array;
  readonly images: readonly PreparedImage[];
}

/** The model's decoder if it takes images. @throws ImageError naming the model kind otherwise */
export function visionDecoder(model: Model): Phi3VDecoder {
  if (model.config.kind !== 'phi3_v') throw new ImageError(`this model (${model.config.kind}) does not take images; use a phi3_v (Phi-3/3.5-vision) model`);
  return model.decoder as Phi3VDecoder;
}

/**
 * Preprocesses and embeds decoded images (CLIP → merge → projection), in order.
 * @param images [h, w, 3] u8 each
 */
export function prepareImages(model: Model, images: readonly { label: string; image: RgbImage }[]): PreparedImage[] {
  const decoder = visionDecoder(model);
  return images.map(({ label, image }) => {
    const processed = preprocessImage(image, decoder.config.imageProcessor, label);
    return { label, processed, embedding: decoder.embedImage(processed) };
  });
}

/**
 * Builds the decoder input from processor ids and embedded images: token embeddings of
 * `clamp(ids, 0)`, then every negative-id position overwritten, in sequence order, by the
 * concatenated image rows (image 1's rows first — the placeholder's value is never read).
 * @returns tokens [T] and embeddings [T, D] f32
 * @throws ImageError when the placeholder count differs from the number of image rows
 */
export function spliceImageEmbeddings(model: Model, inputIds: readonly number[], images: readonly PreparedImage[]): { tokens: number[]; embeddings: Float32Array } {
  const decoder = visionDecoder(model);
  const D = model.config.hiddenSize;
  const V = model.config.vocabSize;
  const bad = inputIds.find((id) => !Number.isSafeInteger(id) || id >= V);
  if (bad !== undefined) throw new InvalidArgumentError(`token id ${bad} is outside the vocabulary [0, ${V})`);
  const tokens = inputIds.map((id) => Math.max(id, 0)); // HF clamp_min_(0); these rows are overwritten below
  const embeddings = decoder.embed(tokens); // [T, D]
  const positions = imagePositions(inputIds);
  const rows = images.reduce((n, im) => n + im.processed.numImgTokens, 0);
  if (positions.length !== rows) {
    throw new ImageError(`the prompt has ${positions.length} image placeholder tokens but the images give ${rows} rows`);
  }
  let p = 0;
  for (const im of images) {
    const emb = im.embedding.imgEmbeds; // [numImgTokens, D]
    for (let r = 0; r < im.processed.numImgTokens; r++) embeddings.set(emb.subarray(r * D, (r + 1) * D), positions[p++] * D);
  }
  return { tokens, embeddings };
}

/**
 * Everything `generate --image` needs: `text` (already chat-formatted, with `<|image_k|>` tags — see
 * `withImageTags`) and image files → ids and input embeddings.
 * @throws ImageError for unreadable/unsupported images and tags that do not match the images
 */
export function prepareVisionPrompt(model: Model, tokenizer: ChunkTokenizer, text: string, imagePaths: readonly string[]): VisionPrompt {
  visionDecoder(model);
  checkImageTags(splitImageTags(text).imageIds, imagePaths.length); // fail before the slow part
  const images = prepareImages(model, imagePaths.map((path) => ({ label: path, image: readImage(path) })));
  const inputIds = buildVisionInputIds(text, tokenizer, images.map((im) => im.processed.numImgTokens));
  return { inputIds, ...spliceImageEmbeddings(model, inputIds, images), images };
}

/**
 * Adapts a session for the generation loop (`generate()` calls `feed(promptIds)` then one token at a
 * time): the feed of exactly `prompt.tokens` — the first one — carries the prompt's image embeddings.
 * Later feeds (generated tokens, follow-up chat turns) are plain token feeds.
 */
export function visionLogitsSession(session: InferenceSession, prompt: VisionPrompt): { feed(tokens: readonly number[]): Float32Array } {
  let pending: VisionPrompt | null = prompt;
  return {
    feed(tokens) {
      const p = pending;
      if (p !== null && tokens.length === p.tokens.length && tokens.every((id, i) => id === p.tokens[i])) {
        pending = null;
        return session.feed(tokens, { embeddings: p.embeddings });
      }
      return session.feed(tokens);
    },
  };
}
