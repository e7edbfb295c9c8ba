// KvCache: per-layer rows, geometric growth, context limit.
import { describe, expect, it } from 'vitest';
import { KvCache } from '../../src/layers/kv-cache.ts';
import { ContextLengthError } from '../../src/errors.ts';

describe('KvCache', () => {
  it('grows geometrically without losing rows and refuses to pass maxTokens', () => {
    const cache = new KvCache(2, 3, 10, 2);
    for (let t = 0; t < 10; t++) {
      for (let l = 0; l < 2; l++) cache.write(l, Float32Array.of(t, l, 1), Float32Array.of(100 + t, l, 2));
      cache.commit(1);
    }
    for (let t = 0; t < 10; t++) {
      expect(Array.from(cache.keysOf(1).subarray(t * 3, t * 3 + 3))).toEqual([t, 1, 1]);
      expect(Array.from(cache.valuesOf(0).subarray(t * 3, t * 3 + 3))).toEqual([100 + t, 0, 2]);
    }
    expect(() => cache.write(0, new Float32Array(3), new Float32Array(3))).toThrow(ContextLengthError);
    cache.truncate(4);
    expect(cache.length).toBe(4);
  });
});

describe('KvCache with an allocator (the wasm kernels\' memory)', () => {
  it('takes every layer\'s K and V from one allocation of maxTokens rows and never moves them', () => {
    const sizes: number[] = [];
    const cache = new KvCache(3, 4, 16, 2, (floats) => {
      sizes.push(floats);
      return new Float32Array(floats);
    });
    expect(sizes).toEqual([2 * 16 * 4, 2 * 16 * 4, 2 * 16 * 4]);
    const keys = cache.keysOf(2);
    for (let t = 0; t < 16; t++) {
      for (let l = 0; l < 3; l++) cache.write(l, Float32Array.of(t, l, 0, 1), Float32Array.of(-t, l, 0, 2));
      cache.commit(1);
    }
    expect(cache.keysOf(2)).toBe(keys); // no growth, no copy
    expect(Array.from(cache.valuesOf(1).subarray(15 * 4, 16 * 4))).toEqual([-15, 1, 0, 2]);
    expect(cache.keysOf(0).buffer).toBe(cache.valuesOf(0).buffer);
  });

  it('falls back to ordinary growing arrays when the allocator has no room, or the cache would be huge', () => {
    let calls = 0;
    const full = new KvCache(2, 4, 16, 2, () => (++calls === 2 ? undefined : new Float32Array(2 * 16 * 4)));
    expect(full.keysOf(0).length).toBe(2 * 4); // initialTokens rows, to grow on demand
    const huge = new KvCache(32, 3072, 131072, 256, () => {
      throw new Error('a 128k-position cache must not be reserved');
    });
    expect(huge.keysOf(0).length).toBe(256 * 3072);
  });
});
