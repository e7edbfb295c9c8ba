// Seeded random weights for the tiny in-memory models of the variant tests.
import { createRng, fillNormal } from '@phi3/tensor';

/** One named tensor as InMemorySource takes it: [HF name, shape, f32 data]. */
export type NamedTensor = [string, number[], Float32Array];

/**
 * A maker of normal(mean, std) tensors drawing from one seeded stream, so the same calls in the same
 * order give the same weights.
 */
export function tensorMaker(seed: number): (name: string, shape: number[], std: number, mean?: number) => NamedTensor {
  const rng = createRng(seed);
  return (name, shape, std, mean = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fillNormal(data, rng, std);
    for (let i = 0; i < data.length; i++) data[i] += mean;
    return [name, shape, data];
  };
}
