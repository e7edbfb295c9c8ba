// `--kernels wasm` end to end: the SIMD128 kernels (weights placed in wasm memory) keep every check
// the TypeScript reference kernels pass — fixture verify, and decoding a quantized GGUF file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceSession, convertToGguf, loadModel, type Kernels } from '@phi3/model';
import { relaxedSimdAvailable } from '@phi3/tensor';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const phi3 = (...args: string[]) =>
  spawnSync(`${ROOT}node_modules/.bin/tsx`, [`${ROOT}packages/cli/src/main.ts`, ...args], { cwd: ROOT, encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'phi3-kernels-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Logits of each decode step (one token per feed: the wasm matvecs), then of the last token of the
 * same tokens fed at once from an empty cache (prefill: the wasm matmul tile).
 */
function decodeLogits(path: string, kernels: Kernels, tokens: number[], threads = 1): Float32Array[] {
  const model = loadModel(path, { kernels, threads });
  try {
    const session = new InferenceSession(model);
    const steps = tokens.map((t) => session.feed([t]).slice());
    session.reset();
    return [...steps, session.feed(tokens).slice()];
  } finally {
    model.close();
  }
}

describe('--kernels wasm', () => {
  it('phi3 verify passes on phi3-mini-tiny and the full-vocabulary fixture with 2 threads (cases and greedy generate)', () => {
    for (const fixture of ['phi3-mini-tiny', 'phi3-fullvocab-tiny']) {
      const r = phi3('verify', `fixtures/${fixture}`, '--kernels', 'wasm', '-t', '2', '--json');
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.ok).toBe(true);
      expect(report.generate.every((g: { match: boolean }) => g.match)).toBe(true);
    }
  });

  it('phi3 verify passes on phi3-mini-tiny with one thread', () => {
    const r = phi3('verify', 'fixtures/phi3-mini-tiny', '--kernels', 'wasm', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.generate.every((g: { match: boolean }) => g.match)).toBe(true);
  });

  it.each(['q8_0', 'q4_0', 'f16'] as const)('decodes and prefills a %s GGUF like the TypeScript kernels', (quant) => {
    const gguf = join(tmp, `mini-${quant}.gguf`);
    convertToGguf(join(ROOT, 'fixtures/phi3-mini-tiny'), gguf, { outType: quant });
    const tokens = [1, 238, 194, 223, 125, 302, 479, 113];
    const ts = decodeLogits(gguf, 'ts', tokens);
    const wasm = decodeLogits(gguf, 'wasm', tokens);
    expect(decodeLogits(gguf, 'wasm', tokens, 2)).toEqual(wasm); // a worker thread changes no bit
    expect(ts).toHaveLength(tokens.length + 1);
    for (let i = 0; i < ts.length; i++) {
      let maxAbs = 0;
      let diff = 0;
      for (let v = 0; v < ts[i].length; v++) {
        maxAbs = Math.max(maxAbs, Math.abs(ts[i][v]));
        diff = Math.max(diff, Math.abs(ts[i][v] - wasm[i][v]));
      }
      // F16: f32 lanes only; Q8_0: int16 activations (≤ 1.5e-5 of each block's max); Q4_0 with relaxed SIMD: int8
      // activations as ggml rounds them (≤ 3.9e-3 of each block's max). Both far below the weights' own
      // quantization error (Q4_0 vs f32 on this fixture: several units); int8 rounding compounds over layers to ~3%.
      expect(diff).toBeLessThan((quant === 'q4_0' && relaxedSimdAvailable() ? 5e-2 : 1e-3) * maxAbs);
      expect(diff).toBeGreaterThan(0); // the wasm path really ran (different summation, quantized activations)
    }
    // and the CLI's verify --weights reports the same greedy tokens with either kernel set
    const actual = (kernels: string) =>
      JSON.parse(phi3('verify', 'fixtures/phi3-mini-tiny', '--weights', gguf, '--kernels', kernels, '--tolerance', '100', '--json').stdout)
        .generate.map((g: { actual: number[] }) => g.actual);
    expect(actual('wasm')).toEqual(actual('ts'));
  });

  it('rejects an unknown kernel name as a usage error', () => {
    const r = phi3('verify', 'fixtures/phi3-mini-tiny', '--kernels', 'gpu');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: option '--kernels <kind>' argument 'gpu' is invalid/);
  });
});
