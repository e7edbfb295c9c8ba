// RMSNorm in wasm (kernels/norm.ts) for norm weights placed in wasm memory, split over the memory's
// worker threads by rows. The readable reference is ops/norm.ts rmsNormInto, which the model calls
// when this returns false.
import { regionOf } from './region.ts';
import { runOverThreads } from './threads.ts';

/** One normalized element (two passes over the row) as work for the split rule (threads.ts): ~16 matvec multiply-adds. */
const ELEMENT_WORK = 16;

const epsBits = new Int32Array(1);
const epsF32 = new Float32Array(epsBits.buffer);

/**
 * out[t, :] = weight ⊙ x[t, :] / sqrt(mean(x[t, :]²) + eps), in f32 (the reference sums in f64: a few
 * ulp apart).
 * @param out    [T, D] f32 (written; may alias x)
 * @param x      [T, D] f32
 * @param weight [D] f32 in wasm memory
 * @returns false, doing nothing, when weight is not in wasm memory, D is not a multiple of 16, or the
 *   memory has no room for scratch
 */
export function wasmRmsNormInto(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, D: number, eps: number): boolean {
  const region = regionOf(weight);
  if (region === undefined || D % 16 !== 0 || weight.length !== D) return false;
  const area = region.floatScratch(2 * T * D);
  if (area === undefined) return false;
  const yAt = area + 4 * T * D;
  region.f32.set(x.subarray(0, T * D), area / 4);
  epsF32[0] = eps;
  runOverThreads(region, 'rms_norm', T, 1, T * D * ELEMENT_WORK, (r0, n) => [area, weight.byteOffset, yAt, r0, r0 + n, D, epsBits[0]]);
  out.set(region.f32.subarray(yAt / 4, yAt / 4 + T * D));
  return true;
}
