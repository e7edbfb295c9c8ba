// Public exports of @phi3/tensor: dependency-free numeric kernels over typed arrays.
export * from './errors.ts';
