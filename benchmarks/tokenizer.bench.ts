// Tokenizer encoding speed (MB/s of UTF-8 input), tinybench medians, single thread.
// Run: node_modules/.bin/tsx benchmarks/tokenizer.bench.ts
// Inputs: ~128 KB built from the fixture strings (fixtures/tokenizers/*/cases.json): "english" =
// the english + code cases, "mixed" = all 242 cases (whitespace runs, CJK, emoji, RTL, specials).
// Phi-3 has no pre-tokenizer, so a text between added tokens is one BPE word: this measures the
// heap-based merge on long words; Phi-3-small measures regex split + per-piece BPE.
// Both tokenizers cache merged chunks (Phi-3: `▁word` chunks, Phi-3-small: regex pieces), and the
// first two corpora repeat, so their medians are warm-cache speeds; "first call" is the first encode
// of the text. "random words" cycles through ten texts of seeded random letters, so nearly every
// word misses the caches: that is the raw BPE speed.
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { loadTokenizer, type Tokenizer } from '../packages/model/src/tokenizer/index.ts';

const FIXTURES = new URL('../fixtures/tokenizers/', import.meta.url);
const TARGET_BYTES = 128 * 1024;

function corpus(categories: string[] | undefined): string {
  const cases = JSON.parse(readFileSync(new URL('phi3/cases.json', FIXTURES), 'utf8')).cases as { category: string; text: string }[];
  const unit = cases.filter((c) => !categories || categories.includes(c.category)).map((c) => c.text).join('\n');
  const repeats = Math.ceil(TARGET_BYTES / Buffer.byteLength(unit));
  return Array.from({ length: repeats }, () => unit).join('\n');
}

/** Seeded random lowercase "words": almost every word is new, so the merge caches rarely hit. */
function randomWords(seed: number): string {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31; // LCG, reproducible
  const words: string[] = [];
  for (let bytes = 0; bytes < TARGET_BYTES; ) {
    const word = Array.from({ length: 2 + Math.floor(next() * 9) }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join('');
    words.push(word);
    bytes += word.length + 1;
  }
  return words.join(' ');
}

const corpora = { english: corpus(['english', 'code']), mixed: corpus(undefined) };
/** Ten different random-word texts, encoded in turn so that runs do not reuse cached words. */
const randomTexts = Array.from({ length: 10 }, (_, i) => randomWords(1000 + i));
const tokenizers: [string, Tokenizer][] = [
  ['phi3 tokenizer.json', loadTokenizer(new URL('phi3', FIXTURES).pathname)],
  ['phi3 GGUF', loadTokenizer(new URL('phi3/llamacpp/ggml-vocab-phi-3.gguf', FIXTURES).pathname)],
  ['phi3-small tiktoken', loadTokenizer(new URL('phi3small', FIXTURES).pathname)],
];

/** `coldMs`: the first encode of this text (empty caches, includes JIT warm-up); the bench then measures warm runs. */
interface Case { name: string; bytes: number; tokens: number; coldMs?: number; run: () => void }
const cases: Case[] = [];
for (const [tokName, tok] of tokenizers) {
  for (const [corpusName, text] of Object.entries(corpora)) {
    const bytes = Buffer.byteLength(text);
    const start = performance.now();
    const ids = tok.encode(text);
    const coldMs = performance.now() - start;
    cases.push({ name: `${tokName} encode ${corpusName}`, bytes, tokens: ids.length, coldMs, run: () => tok.encode(text) });
    cases.push({ name: `${tokName} decode ${corpusName}`, bytes, tokens: ids.length, run: () => tok.decode(ids) });
  }
  let turn = 0;
  const bytes = Buffer.byteLength(randomTexts[0]); // all ten are within a few bytes of each other
  cases.push({ name: `${tokName} encode random words (cold caches)`, bytes, tokens: tok.encode(randomTexts[9]).length, run: () => tok.encode(randomTexts[turn++ % 10]) });
}

const bench = new Bench({ time: 1000, iterations: 5, warmupIterations: 2, warmupTime: 200, throws: true });
for (const c of cases) bench.add(c.name, c.run);
await bench.run();

console.log(`node ${process.version}, ${process.arch}, single thread; medians over the samples\n`);
console.log('| task | input | tokens | median | MB/s | first call MB/s | samples |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
bench.tasks.forEach((task, i) => {
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
  const c = cases[i];
  const ms = r.latency.p50;
  const mbps = (t: number) => (c.bytes / (t * 1e3)).toFixed(2);
  const cold = c.coldMs === undefined ? '' : mbps(c.coldMs);
  console.log(`| ${c.name} | ${(c.bytes / 1024).toFixed(0)} KB | ${c.tokens} | ${ms.toFixed(1)} ms | ${mbps(ms)} | ${cold} | ${r.latency.samplesCount} |`);
});
