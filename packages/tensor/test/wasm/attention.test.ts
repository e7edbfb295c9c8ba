// SIMD attention over a KV cache in wasm memory against a float64 transcription of the definition.
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { wasmAttentionInto } from '../../src/wasm/attention.ts';
import { PROP, randomArray } from '../helpers.ts';

/** out[t, h] = Σ_j softmax_j(scale · q·K[j, g]) V[j, g] over j0 ≤ j ≤ i, in float64. */
function attentionRef(q: Float32Array, keys: Float32Array, values: Float32Array, pos0: number, T: number, H: number, Hkv: number, Dh: number, scale: number, window: number | null): Float64Array {
  const out = new Float64Array(T * H * Dh);
  const kvDim = Hkv * Dh;
  for (let t = 0; t < T; t++) {
    const i = pos0 + t;
    const j0 = window === null ? 0 : Math.max(0, i - window + 1);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      const s: number[] = [];
      for (let j = j0; j <= i; j++) {
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[(t * H + h) * Dh + d] * keys[j * kvDim + g * Dh + d];
        s.push(dot * scale);
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = j0; j <= i; j++) {
        for (let d = 0; d < Dh; d++) out[(t * H + h) * Dh + d] += (e[j - j0] / z) * values[j * kvDim + g * Dh + d];
      }
    }
  }
  return out;
}

describe.each([1, 2])('wasmAttentionInto (%i threads)', (threads) => {
  const arena = new WasmWeightArena({ threads, maxBytesPerMemory: 64 * 1024 * 1024 });
  afterAll(() => arena.close());
  test.prop([
    fc.constantFrom([1, 1], [4, 4], [8, 2], [6, 3], [32, 8]), fc.constantFrom(16, 32, 96), fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 1, max: 5 }), fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }), fc.integer({ min: 0, max: 1000 }),
  ], { ...PROP, numRuns: 25 })('equals the float64 definition (GQA, sliding window, prefill rows) to f32 accuracy', ([H, Hkv], Dh, pos0, T, window, s) => {
    const kvDim = Hkv * Dh;
    const S = pos0 + T + 3; // the cache holds more rows than are visible
    const keys = arena.allocateF32(S * kvDim)!;
    const values = arena.allocateF32(S * kvDim)!;
    keys.set(randomArray(S * kvDim, s));
    values.set(randomArray(S * kvDim, s + 1));
    const q = randomArray(T * H * Dh, s + 2);
    const scale = 1 / Math.sqrt(Dh);
    const got = new Float32Array(T * H * Dh).fill(NaN);
    expect(wasmAttentionInto(got, q, keys, values, pos0, T, H, Hkv, Dh, scale, window)).toBe(true);
    const want = attentionRef(q, keys, values, pos0, T, H, Hkv, Dh, scale, window);
    for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(2e-5);
  });

  it('splits long contexts over threads by head (H·Σn·Dh ≥ 2^20) with the same result', () => {
    const [H, Hkv, Dh, pos0, T] = [32, 8, 96, 400, 2];
    const S = pos0 + T;
    const keys = arena.allocateF32(S * Hkv * Dh)!;
    const values = arena.allocateF32(S * Hkv * Dh)!;
    keys.set(randomArray(keys.length, 7));
    values.set(randomArray(values.length, 8));
    const q = randomArray(T * H * Dh, 9);
    const got = new Float32Array(T * H * Dh);
    const jobs = arena.workerJobs;
    expect(wasmAttentionInto(got, q, keys, values, pos0, T, H, Hkv, Dh, 0.1, null)).toBe(true);
    expect(arena.workerJobs - jobs).toBe(threads === 2 ? 1 : 0); // one hand-off for every token's scores, softmax and values
    const want = attentionRef(q, keys, values, pos0, T, H, Hkv, Dh, 0.1, null);
    for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(2e-5);
  });

  test.prop([
    fc.constantFrom([1, 1], [4, 4], [8, 2], [6, 3], [32, 8]), fc.constantFrom(16, 96), fc.integer({ min: 0, max: 60 }),
    fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }), fc.integer({ min: 0, max: 1000 }),
  ], { ...PROP, numRuns: 20 })('one token (the row-by-row decode kernel) gives the bits of the per-head kernel\'s last prefill row', ([H, Hkv], Dh, pos0, window, s) => {
    const kvDim = Hkv * Dh;
    const S = pos0 + 2;
    const keys = arena.allocateF32(S * kvDim)!;
    const values = arena.allocateF32(S * kvDim)!;
    keys.set(randomArray(S * kvDim, s));
    values.set(randomArray(S * kvDim, s + 1));
    const q = randomArray(2 * H * Dh, s + 2);
    const two = new Float32Array(2 * H * Dh);
    expect(wasmAttentionInto(two, q, keys, values, pos0, 2, H, Hkv, Dh, 0.3, window)).toBe(true); // attn_tokens
    const one = new Float32Array(H * Dh).fill(NaN);
    expect(wasmAttentionInto(one, q.subarray(H * Dh), keys, values, pos0 + 1, 1, H, Hkv, Dh, 0.3, window)).toBe(true); // attn_decode
    expect(one).toEqual(two.subarray(H * Dh));
  });

  it('splits one token over threads by head at long contexts (GQA groups cut by the split) with the same result', () => {
    const [H, Hkv, Dh, pos0] = [12, 4, 96, 1000]; // 12 · 1001 · 96 ≥ 2^20; the threads take heads 0–5 and 6–11, kv head 1 on both
    const S = pos0 + 1;
    const keys = arena.allocateF32(S * Hkv * Dh)!;
    const values = arena.allocateF32(S * Hkv * Dh)!;
    keys.set(randomArray(keys.length, 17));
    values.set(randomArray(values.length, 18));
    const q = randomArray(H * Dh, 19);
    const got = new Float32Array(H * Dh);
    const jobs = arena.workerJobs;
    expect(wasmAttentionInto(got, q, keys, values, pos0, 1, H, Hkv, Dh, 0.1, null)).toBe(true);
    expect(arena.workerJobs - jobs).toBe(threads === 2 ? 1 : 0);
    const want = attentionRef(q, keys, values, pos0, 1, H, Hkv, Dh, 0.1, null);
    for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(2e-5);
  });

  test.prop([fc.integer({ min: 0, max: 100 })], { ...PROP, numRuns: 5 })('declines ordinary arrays and head dims that are not multiples of 16', (s) => {
    const q = randomArray(8, s);
    const kv = randomArray(8, s + 1);
    expect(wasmAttentionInto(new Float32Array(8), q, kv, kv, 0, 1, 1, 1, 8, 1, null)).toBe(false);
    const placed = arena.allocateF32(8)!;
    expect(wasmAttentionInto(new Float32Array(8), q, placed, placed, 0, 1, 1, 1, 8, 1, null)).toBe(false);
  });
});
