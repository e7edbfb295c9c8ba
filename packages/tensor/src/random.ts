// Seedable PRNG for reproducible sampling, random test weights and benchmarks (Math.random has no seed).

/** A deterministic random stream. */
export interface Rng {
  /** Uniform in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

/** mulberry32 (Tommy Ettinger, public domain): a small 32-bit-state generator, fine for non-crypto use. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = 1 - next(); // (0, 1]: log stays finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return { next, normal };
}

/**
 * Fills `out` with normal(0, std) samples.
 * @param out [n] f32 (written)
 */
export function fillNormal(out: Float32Array, rng: Rng, std = 1): void {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
}

/**
 * Fills `out` with uniform samples in [lo, hi).
 * @param out [n] f32 (written)
 */
export function fillUniform(out: Float32Array, rng: Rng, lo = 0, hi = 1): void {
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.next();
}
