// Elementwise kernels. Every `*Into(out, ...)` writes `out[i]` from the inputs' `[i]` only, so `out`
// may alias an input (in-place use). All arrays of one call have the same length n (any shape).
import { assertLength } from '../shape.ts';

function assertSameLength(out: Float32Array, inputs: Float32Array[], op: string): void {
  for (const [i, a] of inputs.entries()) assertLength(a, out.length, `${op} input ${i}`);
}

/** out = a + b. @param out [n] f32 (written) @param a [n] f32 @param b [n] f32 */
export function addInto(out: Float32Array, a: Float32Array, b: Float32Array): void {
  assertSameLength(out, [a, b], 'addInto');
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/** out = a * b (Hadamard). @param out [n] f32 (written) @param a [n] f32 @param b [n] f32 */
export function mulInto(out: Float32Array, a: Float32Array, b: Float32Array): void {
  assertSameLength(out, [a, b], 'mulInto');
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
}

/** out = a * s. @param out [n] f32 (written) @param a [n] f32 @param s scalar */
export function scaleInto(out: Float32Array, a: Float32Array, s: number): void {
  assertSameLength(out, [a], 'scaleInto');
  for (let i = 0; i < out.length; i++) out[i] = a[i] * s;
}

/** out = min(max(x, lo), hi). Used by GEGLU's clamp (HF phi3small `gegelu`: limit from config). */
export function clampInto(out: Float32Array, x: Float32Array, lo: number, hi: number): void {
  assertSameLength(out, [x], 'clampInto');
  for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(x[i], lo), hi);
}

/** Logistic sigmoid 1 / (1 + e^-x), written to stay finite for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** out = sigmoid(x). @param out [n] f32 (written) @param x [n] f32 */
export function sigmoidInto(out: Float32Array, x: Float32Array): void {
  assertSameLength(out, [x], 'sigmoidInto');
  for (let i = 0; i < out.length; i++) out[i] = sigmoid(x[i]);
}

/** out = silu(x) = x * sigmoid(x) (torch.nn.functional.silu; Phi-3's MLP activation). */
export function siluInto(out: Float32Array, x: Float32Array): void {
  assertSameLength(out, [x], 'siluInto');
  for (let i = 0; i < out.length; i++) out[i] = x[i] * sigmoid(x[i]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu, tanh approximation (HF `gelu_pytorch_tanh` / `gelu_new`): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** gelu, exact form (HF `gelu`, torch default): 0.5x(1 + erf(x/√2)). */
export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x * Math.SQRT1_2));
}

/** quick_gelu (HF `QuickGELUActivation`, used by CLIP): x * sigmoid(1.702x). */
export function quickGelu(x: number): number {
  return x * sigmoid(1.702 * x);
}

/** out = geluTanh(x). @param out [n] f32 (written) @param x [n] f32 */
export function geluTanhInto(out: Float32Array, x: Float32Array): void {
  assertSameLength(out, [x], 'geluTanhInto');
  for (let i = 0; i < out.length; i++) out[i] = geluTanh(x[i]);
}

/** out = geluErf(x). @param out [n] f32 (written) @param x [n] f32 */
export function geluErfInto(out: Float32Array, x: Float32Array): void {
  assertSameLength(out, [x], 'geluErfInto');
  for (let i = 0; i < out.length; i++) out[i] = geluErf(x[i]);
}

/** out = quickGelu(x). @param out [n] f32 (written) @param x [n] f32 */
export function quickGeluInto(out: Float32Array, x: Float32Array): void {
  assertSameLength(out, [x], 'quickGeluInto');
  for (let i = 0; i < out.length; i++) out[i] = quickGelu(x[i]);
}

/**
 * The error function to double precision (JS has no Math.erf). |x| < 3: the all-positive series
 * erf x = 2/√π · e^(−x²) · Σ 2^n x^(2n+1) / (1·3·…·(2n+1)) (A&S 7.1.6, no cancellation);
 * |x| >= 3: the continued fraction for erfc (A&S 7.1.14) evaluated backwards; beyond 6 erf is ±1.
 */
export function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x; // keeps the sign of ±0
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = ax; // 2^n x^(2n+1) / (2n+1)!!
    let sum = ax;
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  }
  // erfc(a) = e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
