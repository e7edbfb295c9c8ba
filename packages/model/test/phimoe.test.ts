// fixtures/phimoe-tiny through the same verify code path users run (`phi3 verify`), the router.json
// check, and tampered copies that must fail.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixtureError, loadModel, verifyFixture, type VerifyReport } from '../src/index.ts';
import { maxAbsDiff } from '../src/verify/compare.ts';
import { readF32File, readReference } from '../src/verify/reference.ts';

const FIXTURE = join(import.meta.dirname, '../../../fixtures/phimoe-tiny');
const scratch = mkdtempSync(join(tmpdir(), 'phimoe-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the fixture whose router.json was edited by `edit`. */
function tamperedCopy(name: string, edit: (router: any) => void): string {
  const dir = join(scratch, name);
  cpSync(FIXTURE, dir, { recursive: true });
  const file = join(dir, 'router.json');
  const router = JSON.parse(readFileSync(file, 'utf8'));
  edit(router);
  writeFileSync(file, JSON.stringify(router));
  return dir;
}

describe('verify phimoe-tiny', () => {
  let report: VerifyReport;
  it('passes: every case within 2e-4, targeted generate entries token-exact, routing equal to router.json', async () => {
    report = await verifyFixture(FIXTURE);
    expect(report.ok).toBe(true);
    expect(report.cases.map((c) => c.name)).toEqual(['seq20_short', 'seq32_boundary', 'seq48_long']);
    for (const c of report.cases) {
      expect(c.maxAbsDiff).toBeLessThan(2e-4);
      expect(c.argmaxAgreement).toBe(1);
    }
    const targeted = report.generate.filter((g) => g.target);
    expect(targeted.map((g) => g.name).sort()).toEqual(['greedy_reset_causal', 'greedy_short']);
    for (const g of targeted) {
      expect(g.actual).toEqual(g.expected);
      expect(g.stepLogitsMaxAbsDiff).toBeLessThan(2e-4);
    }
    expect(report.hiddenStates?.firstDivergingLayer).toBeNull();
    const router = report.extra.find((e) => e.name.startsWith('router'))!;
    expect(router.ok).toBe(true);
    expect(router.target).toBe(true);
    expect(router.detail).toMatch(/^80\/80 router decisions agree/);
  });

  it('follows the cache-rebuild policy, not the recorded HF bug nor the negative controls', () => {
    const byName = new Map(report.generate.map((g) => [g.name, g]));
    // All three share the first 6 tokens (before T reaches original_max = 32 at step 6).
    for (const name of ['greedy', 'greedy_kv_cache_no_reset', 'greedy_full_recompute']) {
      const g = byName.get(name)!;
      expect(g.target).toBe(false);
      expect(g.match).toBe(false);
      expect(g.firstMismatch).toBeGreaterThanOrEqual(6);
    }
    // full recompute differs at T == original_max (one long-rotated key among short-rotated cached ones)
    expect(byName.get('greedy_full_recompute')!.firstMismatch).toBe(6);
    // no rebuild differs right after the switch at T = original_max + 1
    expect(byName.get('greedy_kv_cache_no_reset')!.firstMismatch).toBe(7);
  });

  it('uses v4.47.1 LongRoPE (long factors from T = original_max), not the newest-upstream short-only emulation', () => {
    const dir = FIXTURE;
    const model = loadModel(dir);
    const emulated = (readReference(dir).raw.newest_upstream_semantics_emulated as { cases: { case: string; logits: string }[] }).cases;
    for (const c of readReference(dir).cases) {
      const logits = model.forward(c.inputIds!, model.createCache(c.shape[0]), { allLogits: true });
      const newest = readF32File(dir, emulated.find((e) => e.case === c.name)!.logits, c.shape[0], c.shape[1]);
      const diff = maxAbsDiff(logits, newest);
      if (c.shape[0] < 32) expect(diff).toBeLessThan(1e-4); // short: both versions agree
      else expect(diff).toBeGreaterThan(1); // boundary (T = 32) and long: they differ
    }
    model.close();
  });
});

describe('router.json check', () => {
  it('fails verify when a recorded expert differs', async () => {
    const dir = tamperedCopy('swapped-expert', (r) => {
      const slot = r.layers[1].selected_experts[5];
      [slot[0], slot[1]] = [slot[1], slot[0]];
    });
    const report = await verifyFixture(dir);
    const router = report.extra.find((e) => e.name.startsWith('router'))!;
    expect(router.ok).toBe(false);
    expect(router.detail).toMatch(/^78\/80 router decisions agree/);
    expect(router.detail).toContain('layer 1 token 5 slot 0');
    expect(report.ok).toBe(false);
  });

  it('fails verify when a recorded weight differs by more than the tolerance', async () => {
    const dir = tamperedCopy('changed-weight', (r) => {
      r.layers[0].routing_weights[3][1] -= 0.01;
    });
    const report = await verifyFixture(dir);
    expect(report.extra.find((e) => e.name.startsWith('router'))!.ok).toBe(false);
    expect(report.ok).toBe(false);
  });

  it('throws a FixtureError naming the field for a malformed router.json', async () => {
    const dir = tamperedCopy('malformed', (r) => {
      r.layers[0].selected_experts = r.layers[0].selected_experts.slice(1);
    });
    await expect(verifyFixture(dir)).rejects.toThrow(FixtureError);
    await expect(verifyFixture(dir)).rejects.toThrow(/layers\[0\]\.selected_experts/);
  });
});
