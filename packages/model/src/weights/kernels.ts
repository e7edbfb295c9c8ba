/**
 * Kernel choice for a loaded model. 'ts' keeps the weights in ordinary typed arrays, so every
 * projection runs the readable TypeScript kernels of @phi3/tensor (the reference). 'wasm' copies each
 * weight matrix once, at load, into WebAssembly memory (`WasmWeightArena`), where `linearInto` runs
 * the SIMD128 kernels on it, decode and prefill (quantized formats against int16- or, with relaxed
 * SIMD, int8-rounded activations, see tensor/src/wasm/kernels/quantize-x.ts), and the KV cache is
 * reserved there too so attention runs in wasm. 'auto' picks 'wasm' where the runtime supports it.
 */
import { ShapeError, WasmWeightArena, wasmSimdSupported, type WeightMatrix } from '@phi3/tensor';
import { InvalidArgumentError } from '../errors.ts';
import type { WeightSource } from './source.ts';

/** The kernels a model runs with. */
export type Kernels = 'ts' | 'wasm';

/** What users may ask for (`--kernels`). */
export const KERNEL_CHOICES = ['auto', 'ts', 'wasm'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];

/**
 * 'auto' → 'wasm' when WebAssembly SIMD128 with shared memory validates here, else 'ts'.
 * @throws InvalidArgumentError for 'wasm' on a runtime without SIMD128, or an unknown name
 */
export function resolveKernels(choice: string): Kernels {
  if (choice === 'ts') return 'ts';
  if (choice === 'auto') return wasmSimdSupported() ? 'wasm' : 'ts';
  if (choice !== 'wasm') throw new InvalidArgumentError(`unknown kernels "${choice}" (expected ${KERNEL_CHOICES.join(', ')})`);
  if (!wasmSimdSupported()) throw new InvalidArgumentError('--kernels wasm: this runtime has no WebAssembly SIMD128 with shared memory');
  return 'wasm';
}

export interface PlacementOptions {
  /** Threads per decode matvec with the wasm kernels (default 1); > 1 starts threads − 1 workers. */
  readonly threads?: number;
}

/**
 * Wraps `source` so the matrices it returns live where `kernels` reads them: unchanged for 'ts'; for
 * 'wasm', copied once into a WasmWeightArena owned by the returned source — read from the file
 * straight into wasm memory when the source can (`getStoredMatrix`), else copied from the array it
 * returns, which is then dropped — and so are the 1-D tensors (norms, biases), where the wasm
 * RMSNorm finds them.
 */
export function placeWeights(source: WeightSource, kernels: Kernels, options: PlacementOptions = {}): WeightSource {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new InvalidArgumentError(`threads must be an integer in [1, 64], got ${threads}`);
  if (kernels === 'ts') {
    if (threads > 1) throw new InvalidArgumentError(`${threads} threads need the wasm kernels (the TypeScript kernels run on one thread)`);
    return source;
  }
  const arena = new WasmWeightArena({ threads });
  return {
    description: source.description,
    names: () => source.names(),
    has: (name) => source.has(name),
    info: (name) => source.info(name),
    getF32: (name) => (source.info(name).shape.length === 1 ? placeVector(arena, source.getF32(name)) : source.getF32(name)),
    getMatrix: (name) => placeMatrix(arena, source, name),
    allocateF32: (floats) => arena.allocateF32(floats), // the KV cache: attention runs in wasm on it
    close: () => {
      arena.close(); // stops the worker threads
      source.close();
    },
  };
}

/**
 * Matrix `name` of `source` in `arena`: read straight into wasm memory when the source can, else copied
 * from the array it returns. The arena's errors (an Inf/NaN scale, no room) name the tensor.
 */
function placeMatrix(arena: WasmWeightArena, source: WeightSource, name: string): WeightMatrix {
  try {
    const stored = source.getStoredMatrix?.(name);
    return stored !== undefined ? arena.placeStored(stored) : arena.place(source.getMatrix(name));
  } catch (err) {
    if (err instanceof ShapeError) throw new ShapeError(`${source.description}: tensor "${name}": ${err.message}`);
    throw err;
  }
}

/** `values` copied into `arena`'s memory, or unchanged when it has no room. */
function placeVector(arena: WasmWeightArena, values: Float32Array): Float32Array {
  const placed = arena.allocateF32(values.length);
  if (placed === undefined) return values;
  placed.set(values);
  return placed;
}
