/**
 * Text side of `Phi3VProcessor` (processing_phi3_v.py `_convert_images_texts_to_inputs`): the prompt
 * is split on `<|image_k|>` tags, every chunk is tokenized separately *with* the tokenizer's BOS, and
 * between chunks the tag's image is represented by `num_img_tokens[k-1]` copies of the id `-k`.
 * See phi3v-notes.md §6.
 */
import { ImageError } from '../errors.ts';

/** `<|image_k|>` (k from 1), the processor's `r"<\|image_\d+\|>"`. */
const IMAGE_TAG = /<\|image_(\d+)\|>/g;

/** The part of a tokenizer the processor needs. */
export interface ChunkTokenizer {
  encode(text: string, options?: { addBos?: boolean }): number[];
  /** HF `add_bos_token`; the processor tokenizes each chunk with the tokenizer's defaults. */
  readonly addBosByDefault?: boolean;
}

/** A prompt split at its image tags: `chunks.length === imageIds.length + 1`. */
export interface TaggedPrompt {
  readonly chunks: readonly string[];
  /** k of each tag, in order of appearance */
  readonly imageIds: readonly number[];
}

/** Splits a prompt at its `<|image_k|>` tags. */
export function splitImageTags(text: string): TaggedPrompt {
  const chunks: string[] = [];
  const imageIds: number[] = [];
  let last = 0;
  for (const m of text.matchAll(IMAGE_TAG)) {
    chunks.push(text.slice(last, m.index));
    imageIds.push(Number(m[1]));
    last = m.index + m[0].length;
  }
  chunks.push(text.slice(last));
  return { chunks, imageIds };
}

/**
 * Checks the processor's rules: tag ids are exactly 1..n for n images, and (since every image's
 * features are consumed once, in order) no tag repeats.
 * @throws ImageError with a one-line explanation
 */
export function checkImageTags(imageIds: readonly number[], nImages: number): void {
  const unique = [...new Set(imageIds)].sort((a, b) => a - b);
  if (unique.length !== imageIds.length) {
    throw new ImageError(`prompt repeats an image tag (${imageIds.map((k) => `<|image_${k}|>`).join(' ')}); each image may be referenced once`);
  }
  if (nImages === 0 && unique.length > 0) {
    throw new ImageError(`prompt has ${unique.map((k) => `<|image_${k}|>`).join(', ')} but no image was given`);
  }
  if (unique.some((k, i) => k !== i + 1)) {
    throw new ImageError(`image tags must be numbered <|image_1|> .. <|image_n|> without gaps, got ${unique.map((k) => `<|image_${k}|>`).join(', ')}`);
  }
  if (unique.length !== nImages) {
    throw new ImageError(`${nImages} image(s) given but the prompt has ${unique.length} image tag(s) (<|image_1|> .. <|image_${nImages}|> expected)`);
  }
}

/**
 * Prepends `<|image_1|>\n … <|image_n|>\n` to a user message that has no image tags (the layout of
 * the model card's prompts), so `--image` works without typing tags. Text that already has tags is
 * returned unchanged.
 * @param imagesBefore images earlier in the conversation: tags are numbered across it (chat turns)
 */
export function withImageTags(userText: string, nImages: number, imagesBefore = 0): string {
  if (nImages === 0 || splitImageTags(userText).imageIds.length > 0) return userText;
  let tags = '';
  for (let k = imagesBefore + 1; k <= imagesBefore + nImages; k++) tags += `<|image_${k}|>\n`;
  return tags + userText;
}

/**
 * Builds the processor's `input_ids`: chunk tokens (each with BOS) interleaved with `-k` placeholders.
 * @param numImgTokens per image (index k-1), from the image processor
 * @returns ids where every negative id marks an image-embedding row
 */
export function buildVisionInputIds(text: string, tokenizer: ChunkTokenizer, numImgTokens: readonly number[]): number[] {
  const { chunks, imageIds } = splitImageTags(text);
  checkImageTags(imageIds, numImgTokens.length);
  const addBos = tokenizer.addBosByDefault ?? true;
  const ids: number[] = [];
  chunks.forEach((chunk, i) => {
    ids.push(...tokenizer.encode(chunk, { addBos }));
    if (i < imageIds.length) {
      const k = imageIds[i];
      for (let n = 0; n < numImgTokens[k - 1]; n++) ids.push(-k);
    }
  });
  return ids;
}

/**
 * Positions that receive image-embedding rows: every `-1e9 < id < 0`, in sequence order (HF
 * `Phi3ImageEmbedding.forward` uses `torch.nonzero`; the value of the negative id is never read, so
 * rows go to positions in order, image 1's rows first).
 */
export function imagePositions(ids: readonly number[]): number[] {
  const out: number[] = [];
  ids.forEach((id, t) => {
    if (id < 0 && id > -1e9) out.push(t);
  });
  return out;
}
