// The entry linearInto calls for weights placed in a WasmWeightArena (their bytes are in wasm
// memory). f32: decode (T < 4) runs the matvec kernel token by token, prefill the 4-token matmul tile.
// Q8_0/Q4_0 (stored in row groups): the group kernel for decode, the tile kernel for prefill (its
// activations interleaved by token quads first);
// Q4_K/Q5_K/Q6_K (GGUF rows as they are): one row-at-a-time kernel for decode, tiles for prefill; F16:
// f16_matmul for decode, for prefill the f32 tile over chunks widened into f32 panels (f16_panels).
// All take chunks of at most TOKEN_CHUNK tokens. With worker threads, rows are split into equal slices
// of whole 8-row groups.
import type { QuantizedMatrix, WeightMatrix } from '../matrix.ts';
import type { ParallelKernel } from '../parallel/protocol.ts';
import { blockFormat } from '../quant/registry.ts';
import { groupBlockBytes, isRowGroupFormat, paddedRows, ROW_GROUP, type RowGroupFormat } from '../quant/row-groups.ts';
import { regionOf, type Scratch, type WasmRegion } from './region.ts';
import { runOverThreads } from './threads.ts';
import { TOKEN_QUAD, tilePanelBytes, type TileFormat } from './kernels/quant-tiles.ts';
import { f16PanelBytes } from './kernels/f32-matmul.ts';

/** From this many tokens on, the f32 matmul tile runs instead of one matvec per token. */
const MATMUL_MIN_T = 4;
/** Tokens per matmul call: bounds the activation scratch (T · (cols · 10 + rows · 4) bytes). */
const TOKEN_CHUNK = 64;

/** Formats with SIMD128 kernels. */
const WASM_FORMATS = new Set(['f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k']);
/** K-quant formats whose kernels read the GGUF rows as placed (kernels/k-quant-matvec.ts). */
const K_QUANT_FORMATS = new Set(['q4_k', 'q5_k', 'q6_k']);

/** True when linearInto can run w's products in wasm. */
export function isWasmResident(w: WeightMatrix): boolean {
  return WASM_FORMATS.has(w.format) && regionOf(w.data) !== undefined;
}

/**
 * out[t, :] = W · x[t, :] for t < T, in wasm. Only activations are copied (x in, y out); the weights
 * are read where they lie. The quantized kernels round each activation block to int16 codes first
 * (kernels/quantize-x.ts: an error of at most 1.5e-5 of the block's largest |x|), or to int8 ones
 * (Q4_0, Q4_K, Q5_K with relaxed SIMD, as ggml does: 3.9e-3).
 * Returns false (doing nothing) when w is not wasm-resident or when the memory has no room for scratch.
 * @param out [T, rows] f32 (written)
 * @param x   [T, cols] f32
 * @param w   [rows, cols] placed by WasmWeightArena.place
 */
export function wasmLinearInto(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number): boolean {
  if (w.rows === 0 || w.cols === 0 || T === 0) {
    if (!isWasmResident(w)) return false;
    out.fill(0, 0, T * w.rows);
    return true;
  }
  const plan = planLinear(w, T);
  if (plan === undefined) return false;
  for (let t0 = 0; t0 < T; t0 += plan.chunk) {
    const n = Math.min(plan.chunk, T - t0);
    plan.region.f32.set(x.subarray(t0 * w.cols, (t0 + n) * w.cols), plan.scratch.x / 4);
    runPlanned(plan, n);
    copyOutputs(plan, out, t0, n);
  }
  return true;
}

/** How w's product runs in wasm (planLinear), `chunk` tokens at a time, their activations put at scratch.x. */
export interface LinearPlan {
  readonly region: WasmRegion;
  readonly w: WeightMatrix;
  /** Tokens per kernel call. */
  readonly chunk: number;
  readonly scratch: Scratch;
  /** Floats between Y's token rows at scratch.y (the row-group kernels write whole groups). */
  readonly yStride: number;
  readonly kernel: ParallelKernel;
  readonly quantizer: ReturnType<typeof quantizerFor>;
  readonly tiles: ReturnType<typeof tileScratch>;
  readonly panel: { base: number; bytesPerThread: number } | undefined;
}

/**
 * Chooses the kernel and scratch for T tokens through w (rows, cols ≥ 1); undefined when w is not
 * wasm-resident, has no kernel here, or the memory has no room for scratch.
 */
export function planLinear(w: WeightMatrix, T: number): LinearPlan | undefined {
  const region = regionOf(w.data);
  if (region === undefined || !WASM_FORMATS.has(w.format)) return undefined;
  if (isRowGroupFormat(w.format) && (w as QuantizedMatrix).layout !== 'row-groups') return undefined;
  const { rows, cols } = w;
  if (w.format === 'f16' && cols % 16 !== 0) return undefined; // f16_matmul steps 16 columns
  const chunk = w.format === 'f32' && T < MATMUL_MIN_T ? 1 : Math.min(T, TOKEN_CHUNK);
  const prefill = T >= MATMUL_MIN_T; // a short last chunk runs the prefill kernel too
  const group = isRowGroupFormat(w.format) ? groupKernelPrefix(region, w.format) : undefined;
  const tileFormat = prefill ? tileFormatFor(region, w) : undefined;
  // room for whole token quads: the tile kernels' activations are interleaved four tokens at a time
  const scratch = region.scratchFor(rows, cols, tileFormat === undefined ? chunk : roundUpToQuad(chunk));
  if (scratch === undefined) return undefined;
  const yStride = isRowGroupFormat(w.format) ? paddedRows(rows) : rows;
  // prefill tiles where the memory has room for their panels and quads; otherwise the group or matvec kernel
  const tiles = tileFormat === undefined ? undefined : tileScratch(region, tileFormat, rows, cols, chunk);
  // F16 prefill: chunks widened once into f32 panels for the f32 tiles, where the memory has room
  const f16Panel = w.format === 'f16' && prefill ? region.panelScratch(f16PanelBytes(cols), region.threads) : undefined;
  const kernel = (tiles !== undefined ? `${tileFormat}_tiles` : group !== undefined ? `${group}_groups`
    : f16Panel !== undefined ? 'f16_panels' : kernelFor(region, w.format, prefill)) as ParallelKernel;
  return { region, w, chunk, scratch, yStride, kernel, quantizer: quantizerFor(kernel, w.format), tiles, panel: tiles?.panel ?? f16Panel };
}

/** Runs the planned product for n ≤ plan.chunk tokens whose activations are at scratch.x; leaves Y [n, yStride] at scratch.y. */
export function runPlanned(plan: LinearPlan, n: number): void {
  const { region, w, scratch, tiles, kernel, quantizer } = plan;
  if (quantizer !== undefined) quantizeActivations(region, quantizer, scratch, (n * w.cols) / 32);
  const codes = tiles === undefined ? scratch : interleaveQuads(region, scratch, tiles, n, w.cols, INT8_ACTIVATIONS.has(kernel));
  runSplit(region, w, { ...scratch, ...codes }, n, plan.yStride, kernel, plan.panel);
}

/** Copies the n rows of Y at scratch.y into out [·, rows] from token row t0. */
export function copyOutputs(plan: LinearPlan, out: Float32Array, t0: number, n: number): void {
  const { rows } = plan.w;
  const y = plan.region.f32.subarray(plan.scratch.y / 4, plan.scratch.y / 4 + n * plan.yStride);
  if (plan.yStride === rows) out.set(y, t0 * rows);
  else for (let t = 0; t < n; t++) out.set(y.subarray(t * plan.yStride, t * plan.yStride + rows), (t0 + t) * rows);
}

/**
 * The activation quantizer `kernel` reads from: int8 codes with the offset halves of the Q4_0 tiles,
 * int8 codes, int16 codes, or none (the f32 and f16 kernels read f32 activations).
 */
function quantizerFor(kernel: ParallelKernel, format: string): 'quantize_x_i8_halves' | 'quantize_x_i8' | 'quantize_x_i16' | undefined {
  if (kernel === 'q4_0_i8_tiles') return 'quantize_x_i8_halves';
  if (INT8_ACTIVATIONS.has(kernel)) return 'quantize_x_i8';
  return format === 'f32' || format === 'f16' ? undefined : 'quantize_x_i16';
}

/** A quantizer block (32 activations, ≈ 9 ns) as work for the split rule (threads.ts): as much as ~256 matvec multiply-adds. */
const QUANTIZER_BLOCK_WORK = 256;

/** Runs `quantizer` over `blocks` activation blocks at scratch.x, split over threads by block. */
function quantizeActivations(region: WasmRegion, quantizer: NonNullable<ReturnType<typeof quantizerFor>>, scratch: Scratch, blocks: number): void {
  const codeBytes = quantizer === 'quantize_x_i16' ? 64 : 32; // one block's codes
  runOverThreads(region, quantizer, blocks, 1, blocks * QUANTIZER_BLOCK_WORK, (b0, n) => [scratch.x + 128 * b0, n, scratch.xq + codeBytes * b0, scratch.xs + 8 * b0]);
}

/**
 * The codes and pairs of n tokens rearranged into token quads for the tile kernels (kernels/interleave.ts);
 * returns where they are. Rows past n in the last quad are stale scratch: interleaved, never read.
 */
function interleaveQuads(
  region: WasmRegion, scratch: Scratch, tiles: { xq: number; xs: number }, n: number, cols: number, int8: boolean,
): { xq: number; xs: number } {
  const quads = roundUpToQuad(n) / TOKEN_QUAD;
  region.kernels.interleave_quads(scratch.xq, quads, (cols * (int8 ? 1 : 2)) / 4, tiles.xq);
  region.kernels.interleave_quads(scratch.xs, quads, 2 * (cols / 32), tiles.xs); // (scale, sum) words
  return tiles;
}

/** Kernels that read int8 activation codes (quantize_x_i8); the other quantized ones read int16. */
const INT8_ACTIVATIONS = new Set<ParallelKernel>(['q4_0_i8_groups', 'q4_0_i8_tiles', 'q4_k_i8_tiles', 'q4_k_i8_matvec', 'q5_k_i8_matvec']);

/**
 * The row-group kernels' name prefix (`_groups` for decode, `_tiles` for prefill): Q8_0's own; Q4_0
 * with int8 activations where relaxed SIMD is available (about 1.5× faster; activations rounded to
 * int8 as ggml does), else int16.
 */
function groupKernelPrefix(region: WasmRegion, format: RowGroupFormat): TileFormat {
  return format === 'q4_0' && region.kernels.q4_0_i8_groups !== undefined ? 'q4_0_i8' : format;
}

/**
 * The prefill tile kernel for w (quant-tiles.ts): Q8_0/Q4_0 (row groups), and Q5_K, Q6_K and (with
 * relaxed SIMD) Q4_K when their rows come in whole groups of four (every phi-3 projection); undefined
 * for the rest.
 */
function tileFormatFor(region: WasmRegion, w: WeightMatrix): TileFormat | undefined {
  if (isRowGroupFormat(w.format)) return groupKernelPrefix(region, w.format);
  if (w.rows % ROW_GROUP !== 0) return undefined; // K-quant rows are not padded to whole groups
  if (w.format === 'q6_k' || w.format === 'q5_k') return w.format;
  return w.format === 'q4_k' && region.kernels.q4_k_i8_tiles !== undefined ? 'q4_k_i8' : undefined;
}

/**
 * The other formats: f32: f32_matmul for prefill chunks, else f32_matvec (one token); K-quants: their
 * matvec kernel (int16 activations; Q4_K / Q5_K int8 where relaxed SIMD is available, as Q4_0) for any
 * number of tokens; F16: f16_matmul (f32 activations).
 */
function kernelFor(region: WasmRegion, format: string, prefill: boolean): ParallelKernel {
  if (format === 'f32') return prefill ? 'f32_matmul' : 'f32_matvec';
  if (format === 'f16') return 'f16_matmul';
  if (format === 'q4_k' && region.kernels.q4_k_i8_matvec !== undefined) return 'q4_k_i8_matvec';
  if (format === 'q5_k' && region.kernels.q5_k_i8_matvec !== undefined) return 'q5_k_i8_matvec';
  return `${format}_matvec` as ParallelKernel; // q4_k, q5_k, q6_k (WASM_FORMATS admits nothing else)
}

const roundUpToQuad = (tokens: number): number => Math.ceil(tokens / TOKEN_QUAD) * TOKEN_QUAD;

/** Per-thread panels and the quad-interleaved activation codes and pairs of a `_tiles` kernel, for up to `tokens` tokens; undefined when the memory is full. */
function tileScratch(
  region: WasmRegion, format: TileFormat, rows: number, cols: number, tokens: number,
): { xq: number; xs: number; panel: { base: number; bytesPerThread: number } } | undefined {
  const panel = region.panelScratch(tilePanelBytes(format, cols / 32), region.threads);
  const quads = region.quadScratch(roundUpToQuad(tokens), cols);
  return panel === undefined || quads === undefined ? undefined : { ...quads, panel };
}

/** Runs one call of `kernel` over all rows for `tokens` token rows (f32_matvec: one token), split over threads; `panel`: the per-thread panels of a `_tiles` or f16_panels kernel. */
function runSplit(
  region: WasmRegion, w: WeightMatrix, scratch: Scratch, tokens: number, yStride: number, kernel: ParallelKernel,
  panel?: { base: number; bytesPerThread: number },
): void {
  const { rows, cols } = w;
  const blocks = cols / 32;
  /** Kernel arguments for rows [r0, r0 + n) (r0 a multiple of the row group), before the panel. */
  const rowArgs = (r0: number, n: number): number[] => {
    const yAt = scratch.y + 4 * r0;
    if (w.format === 'f32') {
      const wAt = w.data.byteOffset + r0 * cols * 4; // may exceed 2^31: i32 arguments wrap, wasm reads them unsigned
      return kernel === 'f32_matvec' ? [wAt, scratch.x, yAt, n, cols] : [wAt, n, cols, scratch.x, yAt, tokens, yStride];
    }
    if (w.format === 'f16') return [w.data.byteOffset + r0 * cols * 2, n, cols, scratch.x, yAt, tokens, yStride];
    if (K_QUANT_FORMATS.has(w.format)) {
      const superBlocks = cols / 256; // GGUF rows as they are: superBlocks blocks per row
      const wAt = w.data.byteOffset + r0 * superBlocks * blockFormat(w.format).blockBytes;
      return kernel.endsWith('_tiles') ? [wAt, n / ROW_GROUP, blocks, scratch.xq, scratch.xs, yAt, tokens, yStride]
        : [wAt, n, superBlocks, scratch.xq, scratch.xs, yAt, tokens, yStride];
    }
    const groupBytes = blocks * groupBlockBytes(w.format as RowGroupFormat);
    return [w.data.byteOffset + (r0 / ROW_GROUP) * groupBytes, Math.ceil(n / ROW_GROUP), blocks, scratch.xq, scratch.xs, yAt, tokens, yStride];
  };
  // the kernels given a panel (`_tiles`, f16_panels) take their thread's as the last argument
  const argsFor = (r0: number, n: number, thread: number): number[] =>
    panel === undefined ? rowArgs(r0, n) : [...rowArgs(r0, n), panel.base + thread * panel.bytesPerThread];
  // equal slices of whole 8-row groups (two row groups)
  runOverThreads(region, kernel, rows, 8, rows * cols * tokens, argsFor);
}
