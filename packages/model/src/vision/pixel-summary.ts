/**
 * Compares `pixel_values` with a fixture's `pixel_values.summary.json` (sha256 of the float32 bytes per
 * crop and per file, plus statistics) when the 6.7 MB `.pixel_values.f32` files are not at hand.
 * Format: fixtures/phi3v-tiny/PIXEL_VALUES.md.
 */
import { createHash } from 'node:crypto';

/** One crop's entry of `pixel_values.summary.json`. */
export interface CropSummary {
  readonly crop: number;
  readonly sha256: string;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly (readonly [number, number])[];
}

/** One image's entry of `pixel_values.summary.json`. */
export interface PixelValuesSummary {
  readonly image: string;
  readonly shape: readonly number[];
  readonly sha256: string;
  readonly crops: readonly CropSummary[];
}

/** Result of checking pixel values against a summary. */
export interface PixelSummaryCheck {
  /** every crop's sha256 matches, and so the whole file's */
  readonly bitExact: boolean;
  /** crops whose hash differs */
  readonly mismatchedCrops: number[];
  /** max |Δ| over the recorded samples (0 when bit-exact) */
  readonly maxSampleDiff: number;
  /** max |Δ| of mean/std/min/max over crops */
  readonly maxStatDiff: number;
}

/** sha256 (hex) of float32 values as little-endian bytes. */
export function sha256OfF32(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength); // LE on every Node platform we run
  return createHash('sha256').update(bytes).digest('hex');
}

/** Population mean/std (float64) and min/max of float32 values. */
export function f32Stats(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(sq / values.length), min, max };
}

/**
 * Checks the processor output of one image against its summary.
 * @param pixelValues [crops, 3, 336, 336] f32 (crops = summary.shape[1])
 */
export function checkPixelSummary(pixelValues: Float32Array, summary: PixelValuesSummary): PixelSummaryCheck {
  const cropLen = summary.shape.slice(2).reduce((a, b) => a * b, 1);
  const mismatchedCrops: number[] = [];
  let maxSampleDiff = 0;
  let maxStatDiff = 0;
  for (const c of summary.crops) {
    const crop = pixelValues.subarray(c.crop * cropLen, (c.crop + 1) * cropLen);
    if (crop.length !== cropLen || sha256OfF32(crop) !== c.sha256) mismatchedCrops.push(c.crop);
    if (crop.length !== cropLen) continue;
    const s = f32Stats(crop);
    maxStatDiff = Math.max(maxStatDiff, ...[s.mean - c.mean, s.std - c.std, s.min - c.min, s.max - c.max].map(Math.abs));
    for (const [i, v] of c.samples) maxSampleDiff = Math.max(maxSampleDiff, Math.abs(crop[i] - v));
  }
  const bitExact = mismatchedCrops.length === 0 && sha256OfF32(pixelValues) === summary.sha256;
  return { bitExact, mismatchedCrops, maxSampleDiff, maxStatDiff };
}
