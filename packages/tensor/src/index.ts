// Public exports of @phi3/tensor: dependency-free numeric kernels over typed arrays.
export * from './errors.ts';
export * from './shape.ts';
export * from './tensor.ts';
export * from './dtype.ts';
export * from './random.ts';
export * from './ops/elementwise.ts';
export * from './ops/reduce.ts';
export * from './ops/norm.ts';
export * from './ops/matmul.ts';
export * from './ops/linear.ts';
export * from './ops/rope.ts';
export * from './ops/movement.ts';
export * from './matrix.ts';
export type { BlockFormat } from './quant/format.ts';
export { QUANT_FORMATS, blockFormat, isQuantFormat } from './quant/registry.ts';
export { Q8_0 } from './quant/q8_0.ts';
export { Q4_0 } from './quant/q4_0.ts';
export * from './wasm/index.ts';
