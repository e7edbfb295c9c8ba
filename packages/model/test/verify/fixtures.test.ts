// Every phi3 fixture through the same verify code path users run (`phi3 verify`), plus tampered and
// corrupt copies that must fail or throw typed errors.
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixtureError, loadModel, UnsupportedModelError, verifyFixture, WeightsFormatError } from '../../src/index.ts';
import { maxAbsDiff } from '../../src/verify/compare.ts';
import { readF32File, readReference } from '../../src/verify/reference.ts';

const FIXTURES = join(import.meta.dirname, '../../../../fixtures');
const PHI3_FIXTURES = [
  'phi3-mini-tiny', 'phi3-gqa-tiny', 'phi3-longrope-tiny', 'phi3-sliding-tiny', 'phi3-bf16-tiny', 'phi3-fullvocab-tiny', 'phi3-shakespeare-tiny',
];

describe.each(PHI3_FIXTURES)('verify %s', (name) => {
  it('passes every case within 2e-4 and every targeted generate entry token-exactly', async () => {
    const report = await verifyFixture(join(FIXTURES, name));
    expect(report.ok).toBe(true);
    expect(report.cases.length).toBeGreaterThan(0);
    for (const c of report.cases) {
      expect(c.maxAbsDiff).toBeLessThan(2e-4); // the notes' "still safe" bound; DESIGN's default is 1e-3
      expect(c.decisiveArgmaxMismatches).toEqual([]);
    }
    for (const g of report.generate.filter((e) => e.target)) {
      expect(g.actual).toEqual(g.expected);
      expect(g.stepLogitsMaxAbsDiff).toBeLessThan(2e-4);
    }
    if (report.hiddenStates !== null) expect(report.hiddenStates.firstDivergingLayer).toBeNull();
  });
});

describe('verify details', () => {
  it('reports the LongRoPE negative control as a non-target mismatch without failing', async () => {
    const report = await verifyFixture(join(FIXTURES, 'phi3-longrope-tiny'));
    const control = report.generate.find((g) => g.name === 'greedy_kv_cache_no_reset')!;
    expect(control.target).toBe(false);
    expect(control.match).toBe(false);
    expect(control.firstMismatch).toBe(7); // the first token after the switch at original_max = 32
    expect(report.ok).toBe(true);
  });

  it('does not match the sliding-window negative controls (no window; W+1 keys)', () => {
    const dir = join(FIXTURES, 'phi3-sliding-tiny');
    const c = readReference(dir).cases[0];
    const model = loadModel(dir);
    const logits = model.forward(c.inputIds!, model.createCache(c.shape[0]), { allLogits: true });
    const W = 8; // config sliding_window: rows before position W see the same keys under every rule
    for (const control of ['seq24.control_no_window.logits.f32', 'seq24.control_window_plus_one.logits.f32']) {
      const ref = readF32File(dir, control, c.shape[0], c.shape[1]);
      expect(maxAbsDiff(logits.subarray(0, W * c.shape[1]), ref.subarray(0, W * c.shape[1]))).toBeLessThan(1e-4);
      expect(maxAbsDiff(logits, ref)).toBeGreaterThan(0.1);
    }
    model.close();
  });

  it('keeps BF16 matrices half-size on request, with the same logits up to summation order', () => {
    for (const name of ['phi3-bf16-tiny', 'phi3-shakespeare-tiny']) {
      const dir = join(FIXTURES, name);
      const c = readReference(dir).cases[0];
      const [wide, half] = [loadModel(dir), loadModel(dir, { keepHalfPrecision: true })];
      expect(half.weights.getMatrix('model.layers.0.mlp.down_proj.weight').format).toBe('bf16');
      const run = (m: typeof wide) => m.forward(c.inputIds!, m.createCache(c.shape[0]), { allLogits: true });
      expect(maxAbsDiff(run(half), run(wide))).toBeLessThan(1e-5);
      wide.close();
      half.close();
    }
  });

  it('compares every layer when hidden states are present (embeddings, layers, final norm)', async () => {
    const report = await verifyFixture(join(FIXTURES, 'phi3-shakespeare-tiny'));
    expect(report.hiddenStates!.layers.map((l) => l.name)).toEqual([
      'embeddings', 'layer 0', 'layer 1', 'layer 2', 'layer 3', 'layer 4', 'layer 5', 'final norm',
    ]);
  });

  const copy = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), 'phi3-fx-'));
    cpSync(join(FIXTURES, name), d, { recursive: true });
    return d;
  };

  it('fails (ok=false) when the reference disagrees, and with a tolerance tighter than the engine', async () => {
    const d = copy('phi3-mini-tiny');
    const ref = JSON.parse(readFileSync(join(d, 'reference.json'), 'utf8'));
    ref.generate[0].expected_ids[5] = (ref.generate[0].expected_ids[5] + 1) % 512;
    writeFileSync(join(d, 'reference.json'), JSON.stringify(ref));
    const logits = new Float32Array(readFileSync(join(d, 'seq7.logits.f32')).buffer.slice(0));
    logits[100] += 0.01;
    writeFileSync(join(d, 'seq7.logits.f32'), new Uint8Array(logits.buffer));
    const report = await verifyFixture(d);
    expect(report.ok).toBe(false);
    expect(report.generate[0]).toMatchObject({ match: false, firstMismatch: 5 });
    expect(report.cases.find((c) => c.name === 'seq7')!.ok).toBe(false);
    expect(report.cases.find((c) => c.name === 'seq16')!.ok).toBe(true);
    expect((await verifyFixture(join(FIXTURES, 'phi3-mini-tiny'), { tolerance: 1e-9 })).ok).toBe(false);
    rmSync(d, { recursive: true });
  });

  it('throws typed errors for missing files, corrupt weights and unsupported model types', async () => {
    const d = copy('phi3-sliding-tiny');
    rmSync(join(d, 'seq24.logits.f32'));
    await expect(verifyFixture(d)).rejects.toThrow(FixtureError);
    truncateSync(join(d, 'model.safetensors'), 1000);
    await expect(verifyFixture(d)).rejects.toThrow(WeightsFormatError);
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 'llama' }));
    await expect(verifyFixture(d)).rejects.toThrow(UnsupportedModelError);
    await expect(verifyFixture(join(d, 'nope'))).rejects.toThrow(/not a fixture folder/);
    rmSync(d, { recursive: true });
  });
});
