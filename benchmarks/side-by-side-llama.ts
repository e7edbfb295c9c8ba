// The llama.cpp half of side-by-side.ts: loads a GGUF through node-llama-cpp (from benchmarks/.scratch,
// CPU only) and runs llama-bench's two tests as `phi3 bench` runs them — pp: P random tokens into an
// empty context in one evaluation; tg: N tokens decoded one at a time from an empty context (greedy
// generation from one random token).
// Prints one JSON object like `phi3 bench -o json` (medians over R repetitions).
//
//   node_modules/.bin/tsx benchmarks/side-by-side-llama.ts FILE.gguf THREADS P N R
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SCRATCH = fileURLToPath(new URL('./.scratch/', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const [path, threadsArg, pArg, nArg, rArg] = process.argv.slice(2);
  const [threads, p, n, r] = [threadsArg, pArg, nArg, rArg].map(Number);
  const { getLlama } = await import(pathToFileURL(join(SCRATCH, 'node_modules/node-llama-cpp/dist/index.js')).href);
  const started = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false });
  const context = await model.createContext({ contextSize: Math.max(512, p + n + 8), batchSize: Math.max(512, p), threads, flashAttention: false });
  const loadSeconds = (performance.now() - started) / 1000;
  const sequence = context.getSequence();
  const vocab = model.tokens.length ?? 32000;
  let seed = 1;
  const randomTokens = (count: number): number[] =>
    Array.from({ length: count }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % Math.min(vocab, 32000));
  await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(8)); // warm-up, as llama-bench does
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let rep = 0; rep < r; rep++) {
    await sequence.clearHistory();
    let t0 = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(p));
    prefill.push(p / ((performance.now() - t0) / 1000));
    await sequence.clearHistory();
    // tg: node-llama-cpp's own generation loop (each generated token is fed back), greedy; one-token
    // evaluateWithoutGeneratingNewTokens calls would add its batch-dispatch delay to every token
    t0 = performance.now();
    let generated = 0;
    for await (const token of sequence.evaluate(randomTokens(1), { temperature: 0 })) {
      void token;
      if (++generated >= n) break;
    }
    decode.push(n / ((performance.now() - t0) / 1000));
    process.stderr.write(`llama.cpp rep ${rep + 1}/${r}: pp${p} ${prefill[rep].toFixed(2)} tok/s, tg${n} ${decode[rep].toFixed(2)} tok/s\n`);
  }
  const result = {
    model: path,
    threads,
    prefill_tok_s: median(prefill),
    decode_tok_s: median(decode),
    load_s: loadSeconds,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  await context.dispose();
  await model.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
