// The SwiGLU activation in wasm (kernels/swiglu.ts), next to the weights it follows: the model's
// fusedSwiGluMlp calls this with its gate/up matrix and falls back to its TypeScript loop (the
// reference) when that matrix is not in wasm memory.
import type { WeightMatrix } from '../matrix.ts';
import { copyOutputs, planLinear, runPlanned } from './linear.ts';
import { regionOf, type WasmRegion } from './region.ts';
import { runOverThreads } from './threads.ts';

/** One SwiGLU output (exp polynomial and a division, ≈ 1.1 ns) as work for the split rule (threads.ts): ~32 matvec multiply-adds. */
const ELEMENT_WORK = 32;

/** The swiglu kernel over [T, 2F] f32 at byte offset `guAt` into [T, F] at `actAt`, split over the threads by columns. */
function runSwiGlu(region: WasmRegion, guAt: number, actAt: number, T: number, F: number): void {
  runOverThreads(region, 'swiglu', F, 4, T * F * ELEMENT_WORK, (f0, n) => [guAt, actAt, T, F, f0, f0 + n]);
}

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
  runSwiGlu(region, guAt, actAt, T, F);
  act.set(region.f32.subarray(actAt / 4, actAt / 4 + T * F));
  return true;
}

/**
 * The whole Phi-3 MLP in wasm memory: out[t] = down · (up[t] ⊙ silu(gate[t])) with [gate; up] =
 * gateUp · x[t], the same kernels (and bits) as linearInto, wasmSwiGluInto and linearInto again, but
 * the [T, 2F] gate/up product and the [T, F] activation never leave wasm memory (no JS arrays, no
 * copies: 6 copies of 2–8 MB per layer and token chunk at phi-3-mini's prefill sizes).
 * @param out    [T, D] f32 (written)
 * @param x      [T, D] f32
 * @param gateUp [2F, D] placed in wasm memory
 * @param down   [D, F] placed in the same memory
 * @returns false, doing nothing, when the matrices are not both in one wasm memory with kernels here,
 *   F is not a multiple of 4, or the memory has no room for scratch
 */
export function wasmSwiGluMlpInto(out: Float32Array, x: Float32Array, T: number, gateUp: WeightMatrix, down: WeightMatrix): boolean {
  const region = regionOf(gateUp.data);
  const F = gateUp.rows / 2;
  if (region === undefined || regionOf(down.data) !== region || F % 4 !== 0 || down.cols !== F || T === 0) return false;
  const up = planLinear(gateUp, T);
  const dn = planLinear(down, T);
  if (up === undefined || dn === undefined || up.yStride !== 2 * F) return false;
  const chunk = Math.min(up.chunk, dn.chunk);
  const actAt = region.floatScratch(chunk * F);
  if (actAt === undefined) return false;
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const n = Math.min(chunk, T - t0);
    region.f32.set(x.subarray(t0 * gateUp.cols, (t0 + n) * gateUp.cols), up.scratch.x / 4);
    runPlanned(up, n); // [gate; up] of n tokens at up.scratch.y
    runSwiGlu(region, up.scratch.y, actAt, n, F);
    // a copy inside wasm memory: down's activation scratch may overlap the [gate; up] that swiglu reads
    region.f32.copyWithin(dn.scratch.x / 4, actAt / 4, actAt / 4 + n * F);
    runPlanned(dn, n);
    copyOutputs(dn, out, t0, n);
  }
  return true;
}
