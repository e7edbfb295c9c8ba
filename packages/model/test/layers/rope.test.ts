// RoPE / LongRoPE tables: HF's float32 inverse frequencies and the LongRoPE attention factor.
import { describe, expect, it } from 'vitest';
import { inverseFrequencies } from '../../src/layers/rope.ts';
import { longRopeAttentionFactor } from '../../src/layers/longrope.ts';
import { ConfigReader } from '../../src/config.ts';
import { parsePhi3Config, phi3RopeParams } from '../../src/variants/phi3.ts';

describe('inverseFrequencies', () => {
  it('is 1 / (factor · base^(2j/Dh)) rounded to f32', () => {
    const factors = [1, 2, 4, 8];
    const inv = inverseFrequencies(8, 10000, factors);
    for (let j = 0; j < 4; j++) {
      const exact = 1 / (factors[j] * 10000 ** ((2 * j) / 8));
      expect(Math.abs(inv[j] - exact) / exact).toBeLessThan(3e-7);
      expect(inv[j]).toBe(Math.fround(inv[j]));
    }
    expect(inverseFrequencies(8, 10000)[0]).toBe(1);
  });
});

describe('LongRoPE', () => {
  it('attention factor sqrt(1 + ln s / ln orig): tiny fixture 512/32 and Phi-3-mini-128k', () => {
    expect(longRopeAttentionFactor(512, 32)).toBeCloseTo(Math.sqrt(1.8), 12);
    expect(longRopeAttentionFactor(131072, 4096)).toBeCloseTo(1.190238, 6);
    expect(longRopeAttentionFactor(4096, 4096)).toBe(1);
  });

  it('switches to long factors only when the total length exceeds original_max', () => {
    const raw = {
      hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8,
      max_position_embeddings: 512, original_max_position_embeddings: 32,
      rope_scaling: { type: 'longrope', short_factor: [1, 1], long_factor: [2, 3] },
    };
    const pick = phi3RopeParams(parsePhi3Config(new ConfigReader(raw, 'test')));
    expect(pick(32).invFreq[0]).toBe(1);
    expect(pick(33).invFreq[0]).toBe(0.5);
    expect(pick(1).scale).toBe(pick(33).scale);
    expect(pick(1).scale).toBeCloseTo(Math.sqrt(1.8), 12); // the factor applies to short sequences too
  });
});
