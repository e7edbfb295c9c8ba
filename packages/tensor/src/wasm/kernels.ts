// The kernel module: every SIMD128 kernel assembled into one WebAssembly module (compiled once per
// process), instantiated once per weight memory. Also the feature test for SIMD + shared memory.
import { buildModule } from './module.ts';
import { f16Panels, f32Matmul } from './kernels/f32-matmul.ts';
import { f32Matvec } from './kernels/f32-matvec.ts';
import { q4_0Groups, q4_0I8Groups, q8_0Groups } from './kernels/quant-groups.ts';
import { q4_0I8Tiles, q4_0Tiles, q4_kI8Tiles, q5_kTiles, q6_kTiles, q8_0Tiles } from './kernels/quant-tiles.ts';
import { interleaveQuads } from './kernels/interleave.ts';
import { quantizeXI16, quantizeXI8, quantizeXI8Halves } from './kernels/quantize-x.ts';
import { q4_0ToRowGroups, q8_0ToRowGroups } from './kernels/to-row-groups.ts';
import { q4KI8Matvec, q4KMatvec, q5KI8Matvec, q5KMatvec, q6KMatvec } from './kernels/k-quant-matvec.ts';
import { attnTokens } from './kernels/attention.ts';
import { attnDecode } from './kernels/attention-decode.ts';
import { rmsNorm } from './kernels/norm.ts';
import { f16Check, f16Matmul } from './kernels/f16.ts';
import { swiglu } from './kernels/swiglu.ts';
import { relaxedSimdAvailable } from './relaxed.ts';

/** WebAssembly pages are 64 KiB. */
export const PAGE_BYTES = 65536;
/** Node 20 (V8 11) caps one 32-bit memory at 65536 pages = 4 GiB. */
export const MAX_PAGES = 65536;

/** The exported kernels; all arguments are i32 (byte offsets into the memory, or counts). */
export interface KernelExports {
  f32_matvec(w: number, x: number, y: number, rows: number, cols: number): void;
  quantize_x_i16(x: number, blocks: number, xq: number, xs: number): void;
  quantize_x_i8(x: number, blocks: number, xq: number, xs: number): void;
  quantize_x_i8_halves(x: number, blocks: number, xq: number, xs: number): void;
  q8_0_groups(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  q4_0_groups(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  /** Present when the engine has relaxed SIMD (relaxed.ts): Q4_0 against int8 activations. */
  q4_0_i8_groups?(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  f32_matmul(w: number, rows: number, cols: number, x: number, y: number, tokens: number, yStride: number): void;
  q8_0_to_row_groups(src: number, dst: number, groups: number, blocks: number, flag: number): void;
  q4_0_to_row_groups(src: number, dst: number, groups: number, blocks: number, flag: number): void;
  attn_tokens(args: number, scores: number, h0: number, h1: number): void;
  attn_decode(args: number, scratch: number, h0: number, h1: number): void;
  rms_norm(x: number, w: number, y: number, r0: number, r1: number, D: number, epsBits: number): void;
  q4_k_matvec(w: number, rows: number, superBlocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  /** Present when the engine has relaxed SIMD (relaxed.ts): Q4_K / Q5_K against int8 activations. */
  q4_k_i8_matvec?(w: number, rows: number, superBlocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  q5_k_i8_matvec?(w: number, rows: number, superBlocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  q5_k_matvec(w: number, rows: number, superBlocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  q6_k_matvec(w: number, rows: number, superBlocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number): void;
  f16_matmul(w: number, rows: number, cols: number, x: number, y: number, tokens: number, yStride: number): void;
  f16_check(src: number, count: number, flag: number): void;
  q5_k_tiles(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  q6_k_tiles(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  f16_panels(w: number, rows: number, cols: number, x: number, y: number, tokens: number, yStride: number, panel: number): void;
  swiglu(gu: number, act: number, tokens: number, F: number, f0: number, f1: number): void;
  q8_0_tiles(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  q4_0_tiles(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  /** Present with relaxed SIMD, like q4_0_i8_groups. */
  q4_0_i8_tiles?(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  /** Present with relaxed SIMD: Q4_K prefill (GGUF rows, blocks = sub-blocks of 32). */
  q4_k_i8_tiles?(w: number, groups: number, blocks: number, xq: number, xs: number, y: number, tokens: number, yStride: number, panel: number): void;
  interleave_quads(src: number, quads: number, words: number, dst: number): void;
}

const SOURCES = [f32Matvec, quantizeXI16, quantizeXI8, q8_0Groups, q4_0Groups, f32Matmul, q8_0ToRowGroups, q4_0ToRowGroups, attnTokens, q4KMatvec, q6KMatvec, q5KMatvec, f16Matmul, f16Check, q8_0Tiles, q4_0Tiles, swiglu, interleaveQuads, quantizeXI8Halves, f16Panels, q6_kTiles, q5_kTiles, rmsNorm, attnDecode];

let compiled: WebAssembly.Module | undefined;
let supported: boolean | undefined;

/** The module bytes, assembled from the kernel sources (exposed for tests and curious readers). */
export function kernelModuleBytes(): Uint8Array {
  const sources = relaxedSimdAvailable() ? [...SOURCES, q4_0I8Groups, q4KI8Matvec, q5KI8Matvec, q4_0I8Tiles, q4_kI8Tiles] : SOURCES;
  return buildModule(sources, { initialPages: 1, maximumPages: MAX_PAGES, shared: true });
}

/**
 * True when this runtime validates our module (SIMD128 and shared memories, e.g. Node ≥ 16.4) and has
 * SharedArrayBuffer; otherwise the TypeScript kernels are used.
 */
export function wasmSimdSupported(): boolean {
  if (supported === undefined) {
    supported = typeof WebAssembly === 'object' && typeof SharedArrayBuffer === 'function' && WebAssembly.validate(kernelModuleBytes());
  }
  return supported;
}

/** The compiled kernel module (compiled once; worker threads receive it rather than recompiling). */
export function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(kernelModuleBytes());
  return compiled;
}

/** Instantiates the kernels over `memory` (a shared memory of at most MAX_PAGES pages). */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(kernelModule(), { env: { memory } }).exports as unknown as KernelExports;
}
