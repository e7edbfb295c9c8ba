/**
 * The HD transform of `image_processing_phi3_v.py` (`HD_transform`, `padding_336`): choose a tile grid
 * from `num_crops`, resize so the long side is a whole number of 336-pixel tiles, pad the short side
 * with white to a multiple of 336. See phi3v-notes.md §4 step 2.
 */
import { ImageError } from '../errors.ts';
import { transposeImage, type RgbImage } from './image.ts';
import { resizeBilinearPillow } from './pillow-resize.ts';

/** Side of one crop in pixels; hard-coded (336) throughout `image_processing_phi3_v.py`. */
export const CROP_SIZE = 336;

/** Geometry decided by the HD transform for one input image. */
export interface HdPlan {
  /** the input was portrait (`width < height`) and is processed transposed */
  readonly transposed: boolean;
  /** resize target in the (possibly transposed) landscape frame: `newW = s·336`, `newH = int(newW / ratio)` */
  readonly resizeW: number;
  readonly resizeH: number;
  /** white rows added above / below in the landscape frame (left / right after transposing back) */
  readonly padTop: number;
  readonly padBottom: number;
  /** final HD image size, both multiples of 336 (the processor's `image_sizes` entry is `[height, width]`) */
  readonly height: number;
  readonly width: number;
  /** tile grid: `rows = height / 336`, `cols = width / 336`, `rows·cols ≤ num_crops` */
  readonly rows: number;
  readonly cols: number;
}

/**
 * Computes the HD transform's geometry without touching pixels (`calc_hd_transform_size`).
 * @throws ImageError when the aspect ratio is so extreme that the short side would be 0 pixels
 */
export function planHdTransform(width: number, height: number, numCrops: number, label = 'image'): HdPlan {
  const transposed = width < height;
  const [w, h] = transposed ? [height, width] : [width, height];
  const ratio = w / h; // float64, >= 1
  // largest s with s * ceil(s / ratio) <= num_crops (the reference's increment-then-step-back loop)
  let s = 1;
  while (s * Math.ceil(s / ratio) <= numCrops) s++;
  s--;
  const resizeW = s * CROP_SIZE;
  const resizeH = Math.trunc(resizeW / ratio); // `int(new_w / ratio)`, not new_w * h / w
  if (s < 1 || resizeH < 1) {
    throw new ImageError(`${label}: aspect ratio ${width}x${height} is too extreme for num_crops ${numCrops}`);
  }
  const padded = Math.ceil(resizeH / CROP_SIZE) * CROP_SIZE;
  const padTop = Math.trunc((padded - resizeH) / 2);
  const padBottom = padded - resizeH - padTop;
  const [outW, outH] = transposed ? [padded, resizeW] : [resizeW, padded];
  return {
    transposed,
    resizeW,
    resizeH,
    padTop,
    padBottom,
    height: outH,
    width: outW,
    rows: outH / CROP_SIZE,
    cols: outW / CROP_SIZE,
  };
}

/**
 * Applies the HD transform: transpose portrait images, Pillow-bilinear resize, white padding,
 * transpose back. The transposes are literal because the u8 rounding between the two resize passes
 * makes the pass order visible.
 * @param img [h, w, 3] u8
 * @returns the plan and the HD image [plan.height, plan.width, 3] u8
 */
export function hdTransform(img: RgbImage, numCrops: number, label = 'image'): { plan: HdPlan; image: RgbImage } {
  const plan = planHdTransform(img.width, img.height, numCrops, label);
  const landscape = plan.transposed ? transposeImage(img) : img;
  const resized = resizeBilinearPillow(landscape, plan.resizeW, plan.resizeH);
  const padded = padRowsWhite(resized, plan.padTop, plan.padBottom);
  return { plan, image: plan.transposed ? transposeImage(padded) : padded };
}

/** Adds `top` and `bottom` rows of white (255, 255, 255) — torchvision `pad(fill=[255,255,255])`. */
function padRowsWhite(img: RgbImage, top: number, bottom: number): RgbImage {
  const height = img.height + top + bottom;
  const data = new Uint8Array(img.width * height * 3).fill(255);
  data.set(img.data, top * img.width * 3);
  return { width: img.width, height, data };
}
