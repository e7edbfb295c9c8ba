/**
 * Projections with an optional bias (HF `nn.Linear`), read from a checkpoint by name. Every variant
 * multiplies through `linearInto`, so dense f32 and quantized GGUF weights both work.
 */
import { linearInto, type WeightMatrix } from '@phi3/tensor';
import { readMatrix, readTensor, type WeightSource } from '../weights/source.ts';
import { activation, type ActivationBuffers } from './activations.ts';

/** A projection y = x·Wᵀ (+ b). */
export interface Linear {
  /** [rows = out, cols = in] */
  readonly weight: WeightMatrix;
  /** [rows] f32, or undefined for `bias=False` layers */
  readonly bias: Float32Array | undefined;
}

/**
 * Reads `${name}.weight` [rows, cols] and, when `withBias`, `${name}.bias` [rows] (shape-checked).
 * @throws WeightsFormatError naming the tensor when it is missing or misshapen
 */
export function readLinear(w: WeightSource, name: string, rows: number, cols: number, withBias: boolean): Linear {
  return {
    weight: readMatrix(w, `${name}.weight`, rows, cols),
    bias: withBias ? readTensor(w, `${name}.bias`, [rows]) : undefined,
  };
}

/**
 * @param x       [T, cols] f32
 * @param buffers where the output goes (buffer `name`), else a fresh array
 * @returns [T, rows] f32
 */
export function project(x: Float32Array, T: number, p: Linear, buffers?: ActivationBuffers, name = 'projection'): Float32Array {
  const out = activation(buffers, name, T * p.weight.rows);
  linearInto(out, x, p.weight, T, p.bias);
  return out;
}
