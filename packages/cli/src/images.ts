/**
 * `--image` checks shared by generate and chat: a model that cannot take images makes the flag a
 * usage error (exit 2, like --system on a raw model); unreadable files fail before any generation.
 */
import { ImageError, readImage, visionDecoder } from '@phi3/model';
import type { OpenedModel } from './load-model.ts';
import { UsageError } from './run-main.ts';

/** Why this model takes no images (the library's message), or null for a vision model. */
export function whyNoImages(opened: OpenedModel): string | null {
  try {
    visionDecoder(opened.model);
    return null;
  } catch (err) {
    if (err instanceof ImageError) return err.message;
    throw err;
  }
}

/** Throws UsageError when `images` are given to a text-only model; ImageError for unreadable files. */
export function checkImageFlags(opened: OpenedModel, images: readonly string[]): void {
  if (images.length === 0) return;
  const noImages = whyNoImages(opened);
  if (noImages) throw new UsageError(`--image: ${noImages}`);
  for (const path of images) readImage(path); // unreadable or unsupported: fail now, not mid-generation
}
