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
