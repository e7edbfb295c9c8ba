// Public surface of the WebAssembly SIMD128 kernels (the rest of wasm/ is internal).
export { WasmWeightArena } from './arena.ts';
export { wasmSimdSupported } from './kernels.ts';
export { isWasmResident, wasmLinearInto } from './matvec.ts';
export { quantizeActivationsRef } from './reference.ts';
