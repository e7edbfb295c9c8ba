// `phi3 verify` as users run it: JSON contract on stdout, exit codes, one-line errors.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const phi3 = (...args: string[]) =>
  spawnSync(`${ROOT}node_modules/.bin/tsx`, [`${ROOT}packages/cli/src/main.ts`, 'verify', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('phi3 verify', () => {
  it('--json prints exactly one JSON object in the DESIGN.md shape and exits 0 when everything passes', () => {
    const r = phi3('fixtures/phi3-longrope-tiny', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ model: 'phi3-longrope-tiny', ok: true });
    expect(report.cases.map((c: { name: string }) => c.name)).toEqual(['seq20_short', 'seq32_boundary', 'seq64_long']);
    for (const c of report.cases) {
      expect(typeof c.maxAbsDiff).toBe('number');
      expect(c.argmaxAgreement).toBe(1);
    }
    const control = report.generate.find((g: { name: string }) => g.name === 'greedy_kv_cache_no_reset');
    expect(control).toMatchObject({ match: false, target: false });
    expect(Array.isArray(control.expected) && Array.isArray(control.actual)).toBe(true);
  });

  it('exits 1 with a FAIL summary when a case exceeds --tolerance', () => {
    const r = phi3('fixtures/phi3-mini-tiny', '--tolerance', '1e-9');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/case seq16: .* FAIL/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('FAIL');
  });

  it('prints one clean error line for missing folders and bad flag values (exit 1 / 2)', () => {
    const missing = phi3('fixtures/does-not-exist');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('error: fixtures/does-not-exist: not a fixture folder\n');
    expect(missing.stdout).toBe('');
    const bad = phi3('fixtures/phi3-mini-tiny', '--tolerance', '0');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: --tolerance must be > 0/);
    const notNumber = phi3('fixtures/phi3-mini-tiny', '--tolerance', 'abc');
    expect(notNumber.status).toBe(2);
    expect(notNumber.stderr).toMatch(/^error: option '--tolerance <x>' argument 'abc' is invalid/);
  });
});
