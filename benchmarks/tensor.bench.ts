// Tensor-core benchmark (`pnpm bench:tensor`): naive vs blocked matmul at 512³ and the decode matvec
// y = W·x for W [8192×3072] and [3072×8192] (phi-3-mini's MLP shapes) in f32, Q8_0 and Q4_0.
// Also a 16-token prefill through the [8192×3072] projection. Prints a markdown table of medians:
// GFLOP/s and GB/s of weights streamed (weight bytes / time). Single thread.
import { Bench } from 'tinybench';
import {
  createRng, denseMatrix, fillNormal, linearInto, matmulInto, matmulRefInto, matrixBytes, matvecRefInto, quantizeMatrix,
  type WeightMatrix,
} from '../packages/tensor/src/index.ts';

interface Case {
  name: string;
  run: () => void;
  /** floating-point operations per call (a multiply-add counts 2) */
  flops: number;
  /** weight bytes read per call (0 when not a weight-streaming kernel) */
  weightBytes: number;
}

const rng = createRng(2026);
function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  fillNormal(a, rng, 0.02);
  return a;
}

function matmulCases(n: number): Case[] {
  const a = randomF32(n * n);
  const b = randomF32(n * n);
  const out = new Float32Array(n * n);
  const flops = 2 * n ** 3;
  return [
    { name: `matmul ${n}³ naive (matmulRefInto)`, run: () => matmulRefInto(out, a, b, n, n, n), flops, weightBytes: 0 },
    { name: `matmul ${n}³ blocked 4×4 (matmulInto)`, run: () => matmulInto(out, a, b, n, n, n), flops, weightBytes: 0 },
  ];
}

function matvecCases(rows: number, cols: number): Case[] {
  const dense = denseMatrix(randomF32(rows * cols), rows, cols);
  const x = randomF32(cols);
  const y = new Float32Array(rows);
  const flops = 2 * rows * cols;
  const shape = `[${rows}×${cols}]·x`;
  const linear = (w: WeightMatrix): Case => ({
    name: `matvec ${shape} ${w.format} (linearInto)`, run: () => linearInto(y, x, w, 1), flops, weightBytes: matrixBytes(w),
  });
  return [
    { name: `matvec ${shape} f32 naive (matvecRefInto)`, run: () => matvecRefInto(y, dense.data, x, rows, cols), flops, weightBytes: matrixBytes(dense) },
    linear(dense),
    linear(quantizeMatrix(dense, 'q8_0')),
    linear(quantizeMatrix(dense, 'q4_0')),
  ];
}

/** Prefill: T token rows through one projection (quantized weights go through 16-row f32 panels). */
function prefillCases(T: number, rows: number, cols: number): Case[] {
  const dense = denseMatrix(randomF32(rows * cols), rows, cols);
  const x = randomF32(T * cols);
  const y = new Float32Array(T * rows);
  return [dense, quantizeMatrix(dense, 'q8_0'), quantizeMatrix(dense, 'q4_0')].map((w) => ({
    name: `prefill linear T=${T} [${rows}×${cols}] ${w.format} (linearInto)`,
    run: () => linearInto(y, x, w, T),
    flops: 2 * T * rows * cols,
    weightBytes: matrixBytes(w),
  }));
}

const cases = [...matmulCases(512), ...matvecCases(8192, 3072), ...matvecCases(3072, 8192), ...prefillCases(16, 8192, 3072)];
// Each task runs >= 5 times and about 1.5 s, so the whole suite stays well under two minutes.
const bench = new Bench({ time: 1500, iterations: 5, warmupIterations: 2, warmupTime: 200, throws: true });
for (const c of cases) bench.add(c.name, c.run);
await bench.run();

const rows = bench.tasks.map((task, i) => {
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
  const ms = r.latency.p50;
  const c = cases[i];
  return {
    kernel: c.name,
    median: `${ms.toFixed(2)} ms`,
    gflops: (c.flops / (ms * 1e6)).toFixed(2),
    gbps: c.weightBytes ? (c.weightBytes / (ms * 1e6)).toFixed(2) : '',
    samples: String(r.latency.samplesCount),
  };
});
console.log(`node ${process.version}, ${process.arch}, single thread; medians over the samples\n`);
console.log('| kernel | median | GFLOP/s | weights GB/s | samples |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.kernel} | ${r.median} | ${r.gflops} | ${r.gbps} | ${r.samples} |`);
