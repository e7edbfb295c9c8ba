import { describe, expect, test } from 'vitest';
import { randomPresetConfig, randomWeightSource, tensorShapes, RANDOM_PRESETS } from '../src/random-weights.ts';

const count = (shapes: Map<string, readonly number[]>): number =>
  [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

describe('random weights with real dimensions', () => {
  test('presets have the parameter counts of the published safetensors checkpoints', () => {
    expect(count(tensorShapes(randomPresetConfig('phi-3-mini')))).toBe(3_821_079_552);
    expect(count(tensorShapes(randomPresetConfig('phi-3-small')))).toBe(7_392_272_384);
    expect(count(tensorShapes(randomPresetConfig('phi-3-medium')))).toBe(13_960_238_080);
    expect(Object.keys(RANDOM_PRESETS)).toEqual(['phi-3-mini', 'phi-3-small', 'phi-3-medium']);
  });

  test('--layers keeps the width and cuts the depth', () => {
    const c = randomPresetConfig('phi-3-medium', 2);
    expect(c).toMatchObject({ nLayers: 2, hiddenSize: 5120, nHeads: 40, nKvHeads: 10 });
    expect([...tensorShapes(c).keys()].filter((n) => n.startsWith('model.layers.1.'))).toHaveLength(6);
  });

  test('--layers cannot add layers the real model does not have (each is gigabytes of random f32)', () => {
    expect(randomPresetConfig('phi-3-mini', 32).nLayers).toBe(32);
    expect(() => randomPresetConfig('phi-3-mini', 33)).toThrow(/invalid --layers 33: phi-3-mini has 32 layers/);
    expect(() => randomPresetConfig('phi-3-medium', 1000)).toThrow(/phi-3-medium has 40 layers/);
  });

  test('tensors: deterministic per name, std ≈ 0.02 for matrices, norms 1, biases 0', () => {
    const shapes = new Map<string, readonly number[]>([['a.weight', [64, 256]], ['n.weight', [8]], ['n.bias', [8]]]);
    const src = randomWeightSource(shapes, 0, 'test');
    const a = src.getF32('a.weight');
    expect(src.getF32('a.weight')).toEqual(a);
    expect(randomWeightSource(shapes, 1, 'test').getF32('a.weight')).not.toEqual(a);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(std).toBeCloseTo(0.02, 3);
    expect(Array.from(src.getF32('n.weight'))).toEqual(new Array(8).fill(1));
    expect(Array.from(src.getF32('n.bias'))).toEqual(new Array(8).fill(0));
    expect(src.getMatrix('a.weight')).toMatchObject({ format: 'f32', rows: 64, cols: 256 });
    expect(() => src.info('missing')).toThrow(/no tensor "missing"/);
  });

  test('unknown preset → InvalidArgumentError naming the choices', () => {
    expect(() => randomPresetConfig('phi-4')).toThrow(/unknown --random model "phi-4" \(available: phi-3-mini, phi-3-small, phi-3-medium\)/);
  });
});
