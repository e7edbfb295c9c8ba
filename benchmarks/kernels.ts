// Decode and prefill kernels, TypeScript vs WebAssembly SIMD128 (1 and 2 threads), on phi-3-mini's
// MLP shapes [8192×3072] and [3072×8192] in f32, F16, Q8_0, Q4_0, and Q4_K / Q5_K / Q6_K (random blocks: there is
// no K-quant writer; the kernels' speed does not depend on the values):
//
//   node_modules/.bin/tsx benchmarks/kernels.ts [--reps 9] [--formats f32,f16,q8_0,q4_0,q4_k,q5_k,q6_k] [--shapes 8192x3072,3072x8192]
//
// Weights come from DRAM, not cache: each case rotates over enough copies of its matrix to exceed
// 128 MiB (this machine's L3 is 32 MiB). Prints a markdown table of medians: GB/s of weight bytes
// streamed per matvec (bytes / time), and GFLOP/s (2 · rows · cols · T / time) for a 64-token prefill.
import { parseArgs } from 'node:util';
import { parseFlags } from './flags.ts';
import {
  WasmWeightArena, blockFormat, createRng, denseMatrix, fillNormal, linearInto, matrixBytes, quantizeMatrix, quantizedMatrix, type WeightMatrix,
} from '../packages/tensor/src/index.ts';

const ALL_FORMATS = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as const;
const USAGE = 'usage: tsx benchmarks/kernels.ts [--reps 9] [--formats f32,f16,q8_0,q4_0,q4_k,q5_k,q6_k] [--shapes 8192x3072,3072x8192]';

const { reps: REPS, formats: FORMATS, shapes: SHAPES } = parseFlags(USAGE, () => {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '9' }, formats: { type: 'string', default: ALL_FORMATS.join(',') }, shapes: { type: 'string', default: '8192x3072,3072x8192' } } });
  const reps = Number(values.reps);
  const formats = values.formats.split(',');
  const shapes = values.shapes.split(',').map((s) => s.split('x').map(Number));
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps ${values.reps}: expected a positive integer`);
  const unknown = formats.find((f) => !(ALL_FORMATS as readonly string[]).includes(f));
  if (unknown !== undefined) throw new Error(`--formats: unknown format "${unknown}"`);
  // rows: whole row groups; columns: whole 256-element K-quant super-blocks
  if (shapes.some((s) => s.length !== 2 || s.some((d) => !Number.isInteger(d) || d < 1) || s[0] % 4 !== 0 || s[1] % 256 !== 0)) {
    throw new Error(`--shapes ${values.shapes}: expected RxC pairs, R a multiple of 4 and C of 256`);
  }
  return { reps, formats, shapes };
});
const WORKING_SET = 128 * 1024 * 1024;
const PREFILL_T = 64;

const rng = createRng(2026);
const arenas = { wasm1: new WasmWeightArena({ threads: 1 }), wasm2: new WasmWeightArena({ threads: 2 }) };

/** A [R, C] Q4_K / Q5_K / Q6_K matrix of random block bytes with small positive f16 super-block scales (2^-10 … 2^-9). */
function randomKQuant(format: 'q4_k' | 'q5_k' | 'q6_k', R: number, C: number): WeightMatrix {
  const { blockBytes } = blockFormat(format);
  const data = Uint8Array.from({ length: (R * C / 256) * blockBytes }, () => Math.floor(rng.next() * 256));
  const f16At = format === 'q6_k' ? [208] : [0, 2]; // d (Q6_K); d, dmin (Q4_K, Q5_K)
  for (let o = 0; o < data.length; o += blockBytes) for (const at of f16At) data.set([rng.next() * 256, 0x14], o + at);
  return quantizedMatrix(format, data, R, C);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median seconds of one call, cycling over `copies` so each call reads its matrix from DRAM. */
function time(copies: WeightMatrix[], T: number, x: Float32Array, out: Float32Array): number {
  const samples: number[] = [];
  for (let i = 0; i < REPS + 1; i++) {
    const w = copies[i % copies.length];
    const t0 = performance.now();
    linearInto(out, x, w, T);
    if (i > 0) samples.push((performance.now() - t0) / 1000); // the first call warms up the JIT
  }
  return median(samples);
}

const rows: string[] = [];
for (const [R, C] of SHAPES) {
  const dense = new Float32Array(R * C);
  fillNormal(dense, rng, 0.02);
  for (const format of ALL_FORMATS.filter((f) => FORMATS.includes(f))) {
    const base = format === 'f32' ? denseMatrix(dense, R, C)
      : format === 'q4_k' || format === 'q5_k' || format === 'q6_k' ? randomKQuant(format, R, C) : quantizeMatrix(denseMatrix(dense, R, C), format);
    const n = Math.max(2, Math.ceil(WORKING_SET / matrixBytes(base)));
    const variants: [string, WeightMatrix[]][] = [
      ['ts', [base]], // TS kernels are too slow for cache effects to matter; one copy keeps memory small
      ['wasm 1t', Array.from({ length: n }, () => arenas.wasm1.place(base))],
      ['wasm 2t', Array.from({ length: n }, () => arenas.wasm2.place(base))],
    ];
    const gbs: string[] = [];
    const gflops: string[] = [];
    for (const [, copies] of variants) {
      const x1 = new Float32Array(C);
      fillNormal(x1, rng, 1);
      gbs.push((matrixBytes(base) / time(copies, 1, x1, new Float32Array(R)) / 1e9).toFixed(2));
      const xT = new Float32Array(PREFILL_T * C);
      fillNormal(xT, rng, 1);
      gflops.push(((2 * R * C * PREFILL_T) / time(copies.slice(0, 2), PREFILL_T, xT, new Float32Array(PREFILL_T * R)) / 1e9).toFixed(1));
    }
    rows.push(`| [${R}×${C}] | ${format} | ${gbs.join(' | ')} | ${gflops.join(' | ')} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
}
process.stdout.write([
  `Kernels, medians of ${REPS} calls (decode: weights from DRAM; prefill: T = ${PREFILL_T})`,
  '',
  '| W | format | decode GB/s ts | wasm 1t | wasm 2t | prefill GFLOP/s ts | wasm 1t | wasm 2t |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
].join('\n'));
arenas.wasm2.close();
