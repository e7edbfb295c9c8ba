/**
 * Image decoding for the vision models: PNG (pngjs) and JPEG (jpeg-js) into 8-bit RGB.
 *
 * The reference processor (`image_processing_phi3_v.py`) calls transformers'
 * `image_transforms.convert_to_rgb` and then `PIL.Image.convert("RGB")`: alpha is *dropped*, not
 * composited (palette transparency and `tRNS` colours are ignored too). We reproduce that.
 */
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageError } from '../errors.ts';

/** An 8-bit RGB image, interleaved row-major: `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** [height, width, 3] u8 */
  readonly data: Uint8Array;
}

/** Refuse images whose decoded RGB buffer would exceed this many pixels (a malicious header guard). */
export const MAX_IMAGE_PIXELS = 100_000_000;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Names the container format from its magic bytes, or `undefined` if unknown. */
export function sniffImageFormat(bytes: Uint8Array): 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp' | 'tiff' | undefined {
  const starts = (sig: number[], at = 0): boolean => sig.every((b, i) => bytes[at + i] === b);
  if (starts(PNG_MAGIC)) return 'png';
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (starts([0x42, 0x4d])) return 'bmp';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (starts([0x49, 0x49, 0x2a, 0x00]) || starts([0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return undefined;
}

/**
 * Decodes PNG or JPEG bytes into RGB.
 * @param bytes the file contents
 * @param label file name used in error messages
 * @returns [H, W, 3] u8
 * @throws ImageError for unknown/unsupported formats and corrupt data
 */
export function decodeImage(bytes: Uint8Array, label: string): RgbImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, label);
  if (format === 'jpeg') return decodeJpeg(bytes, label);
  if (format === undefined) throw new ImageError(`${label}: not a PNG or JPEG image (unrecognised file signature)`);
  throw new ImageError(`${label}: unsupported image format ${format.toUpperCase()} (only PNG and JPEG are supported)`);
}

/**
 * Reads and decodes an image file.
 * @returns [H, W, 3] u8
 * @throws ImageError when the file cannot be read or decoded
 */
export function readImage(path: string): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ImageError(`${path}: cannot read image (${code})`);
  }
  return decodeImage(bytes, path);
}

/** PNG: 8-bit data as Pillow sees it; 16-bit colour keeps the high byte, like Pillow's `RGB;16B` unpacker. */
function decodePng(bytes: Uint8Array, label: string): RgbImage {
  const { width, height, depth, colorType } = readPngHeader(bytes, label);
  if (depth === 16 && (colorType === 0 || colorType === 4)) {
    // Pillow opens these as 32-bit integer images ("I;16"), which convert("RGB") clips, not scales.
    throw new ImageError(`${label}: 16-bit grayscale PNG is not supported (convert it to 8-bit)`);
  }
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // tRNS is removed first: pngjs would zero `tRNS`-coloured pixels, while convert("RGB") ignores them.
    png = PNG.sync.read(Buffer.from(withoutChunk(bytes, 'tRNS')), { skipRescale: true });
  } catch (e) {
    throw new ImageError(`${label}: corrupt PNG (${(e as Error).message})`);
  }
  const rgba = png.data as unknown as ArrayLike<number>; // [H, W, 4]: u8, or u16 when depth is 16
  const shift = depth === 16 ? 8 : 0;
  return rgbaToRgb(width, height, (i) => rgba[i] >> shift);
}

/** JPEG via jpeg-js (a pdf.js port). Not bit-identical to libjpeg's IDCT/upsampling used by Pillow. */
function decodeJpeg(bytes: Uint8Array, label: string): RgbImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
  } catch (e) {
    throw new ImageError(`${label}: corrupt or unsupported JPEG (${(e as Error).message})`);
  }
  return rgbaToRgb(img.width, img.height, (i) => img.data[i]);
}

function rgbaToRgb(width: number, height: number, rgbaAt: (i: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = rgbaAt(p * 4);
    data[p * 3 + 1] = rgbaAt(p * 4 + 1);
    data[p * 3 + 2] = rgbaAt(p * 4 + 2);
  }
  return { width, height, data };
}

/** Parses the IHDR chunk so absurd sizes are refused before any allocation. */
function readPngHeader(bytes: Uint8Array, label: string): { width: number; height: number; depth: number; colorType: number } {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new ImageError(`${label}: corrupt PNG (missing IHDR)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0 || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageError(`${label}: PNG size ${width}x${height} is out of range (max ${MAX_IMAGE_PIXELS} pixels)`);
  }
  return { width, height, depth: bytes[24], colorType: bytes[25] };
}

/** Returns the PNG bytes without any chunk of the given type (chunks: u32 length, type, data, crc). */
function withoutChunk(bytes: Uint8Array, type: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const end = Math.min(bytes.length, at + 12 + length);
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) !== type) parts.push(bytes.subarray(at, end));
    at = end;
  }
  if (at < bytes.length) parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}

/**
 * Swaps x and y (PIL `Image.TRANSPOSE`).
 * @param img [H, W, 3] u8
 * @returns [W, H, 3] u8
 */
export function transposeImage(img: RgbImage): RgbImage {
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 3;
      const dst = (x * height + y) * 3; // out[x][y]
      out[dst] = data[src];
      out[dst + 1] = data[src + 1];
      out[dst + 2] = data[src + 2];
    }
  }
  return { width: height, height: width, data: out };
}
