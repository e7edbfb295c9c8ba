/**
 * In-memory quantization of any checkpoint (`--dtype q8_0|q4_0` on generate/bench): a WeightSource
 * wrapper whose 2-D weights come back as quantized WeightMatrix blocks (ggml's reference rounding,
 * the same bytes `phi3 convert --quantize` writes), while 1-D tensors (norms) stay f32.
 */
import { blockFormat, denseMatrix, isQuantFormat, quantizeMatrix, type QuantFormatName, type WeightMatrix } from '@phi3/tensor';
import { InvalidArgumentError } from '../errors.ts';
import type { TensorInfo, WeightSource } from './source.ts';

/**
 * MoE routers (`…block_sparse_moe.gate.weight`) stay f32, as llama.cpp keeps them (llama-quantize
 * skips ffn_gate_inp): top-2 routing is discrete, and quantizing the router flips decisions.
 */
function isRouter(name: string): boolean {
  return name.endsWith('.block_sparse_moe.gate.weight');
}

/** Storage types for `quantizeWeights` ('f32' = leave the weights as they are). */
export type WeightDType = 'f32' | QuantFormatName;

/**
 * Wraps `source` so every `getMatrix` returns the weight quantized to `dtype`. Matrices whose rows
 * are not a whole number of blocks, MoE routers, and matrices the source already gives quantized
 * are passed through.
 * @param dtype 'f32' (no change), or a format with a quantizer: 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'f16', 'bf16'
 * @throws InvalidArgumentError for unknown or read-only (K-quant) formats
 */
export function quantizeWeights(source: WeightSource, dtype: string): WeightSource {
  if (dtype === 'f32') return source;
  if (!isQuantFormat(dtype)) throw new InvalidArgumentError(`unknown weight dtype "${dtype}" (expected f32, q8_0 or q4_0)`);
  const format: QuantFormatName = dtype;
  const { blockSize, quantizeRowInto } = blockFormat(format);
  if (quantizeRowInto === undefined) throw new InvalidArgumentError(`${format} is a read-only format: weights cannot be quantized to it`);
  return {
    description: `${source.description} (quantized to ${format} in memory)`,
    names: () => source.names(),
    has: (name) => source.has(name),
    info: (name): TensorInfo => source.info(name),
    getF32: (name) => source.getF32(name),
    getMatrix(name): WeightMatrix {
      const w = source.getMatrix(name);
      if (w.format !== 'f32' || w.cols % blockSize !== 0 || isRouter(name)) return w;
      return quantizeMatrix(denseMatrix(w.data, w.rows, w.cols), format);
    },
    close: () => source.close(),
  };
}
