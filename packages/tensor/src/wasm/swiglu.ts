// The SwiGLU activation in wasm (kernels/swiglu.ts), next to the weights it follows: the model's
// fusedSwiGluMlp calls this with its gate/up matrix and falls back to its TypeScript loop (the
// reference) when that matrix is not in wasm memory.
import type { WeightMatrix } from '../matrix.ts';
import { regionOf } from './region.ts';
import { runOverThreads } from './threads.ts';

/** Fewer columns than this stay on the calling thread. */
const PARALLEL_MIN_COLUMNS = 1024;

/**
 * act[t, f] = up[t, f] · silu(gate[t, f]) with gu[t] = [gate (F); up (F)], in the wasm memory that
 * holds `near` (the gate/up matrix), split over its threads by columns. exp is a polynomial (≈ 2 ulp).
 * @param act [T, F] f32 (written)
 * @param gu  [T, 2F] f32
 * @returns false, doing nothing, when `near` is not in wasm memory, F is not a multiple of 4, or the
 *   memory has no room for scratch
 */
export function wasmSwiGluInto(act: Float32Array, gu: Float32Array, T: number, F: number, near: WeightMatrix): boolean {
  const region = regionOf(near.data);
  if (region === undefined || F % 4 !== 0 || T === 0) return false;
  const area = region.floatScratch(3 * T * F);
  if (area === undefined) return false;
  const guAt = area;
  const actAt = area + 4 * 2 * T * F;
  region.f32.set(gu.subarray(0, 2 * T * F), guAt / 4);
  runOverThreads(region, 'swiglu', F, 4, PARALLEL_MIN_COLUMNS, (f0, n) => [guAt, actAt, T, F, f0, f0 + n]);
  act.set(region.f32.subarray(actAt / 4, actAt / 4 + T * F));
  return true;
}
