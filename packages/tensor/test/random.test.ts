import { describe, expect, it } from 'vitest';
import { createRng, fillNormal, fillUniform } from '../src/random.ts';

describe('seeded PRNG', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('uniform lies in [lo, hi) with the right mean; normal has mean 0 and variance std²', () => {
    const u = new Float32Array(20000);
    fillUniform(u, createRng(1), -2, 2);
    expect(u.every((v) => v >= -2 && v < 2)).toBe(true);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / u.length)).toBeLessThan(0.05);
    const g = new Float32Array(20000);
    fillNormal(g, createRng(2), 3);
    const mean = g.reduce((s, v) => s + v, 0) / g.length;
    const variance = g.reduce((s, v) => s + (v - mean) ** 2, 0) / g.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(variance).toBeGreaterThan(8.5);
    expect(variance).toBeLessThan(9.5);
  });
});
