/**
 * Human-readable verify report (the CLI prints it; `--json` prints the report object instead).
 */
import type { VerifyReport } from './verify.ts';

const num = (x: number | null): string => (x === null ? '-' : x === 0 ? '0' : x.toExponential(2));

/** One line per case / generate entry / layer, then PASS or FAIL. */
export function formatVerifyReport(r: VerifyReport): string {
  const lines = [`${r.model}  (tolerance ${r.tolerance})`];
  for (const c of r.cases) {
    const mism = c.decisiveArgmaxMismatches.length ? `, argmax differs at ${c.decisiveArgmaxMismatches.join(' ')}` : '';
    lines.push(`  case ${c.name}: max|Δlogit| ${num(c.maxAbsDiff)}, argmax agreement ${(100 * c.argmaxAgreement).toFixed(1)}%${mism}  ${c.ok ? 'ok' : 'FAIL'}`);
  }
  if (r.hiddenStates !== null) {
    const hs = r.hiddenStates;
    lines.push(`  hidden states (${hs.case}): ${hs.layers.map((l) => `${l.name} ${num(l.maxAbsDiff)}`).join(', ')}`);
    lines.push(`    first diverging layer: ${hs.firstDivergingLayer ?? 'none'}`);
  }
  for (const g of r.generate) {
    const tokens = g.match ? `${g.actual.length}/${g.expected.length} tokens match` : `differs from step ${g.firstMismatch}`;
    const verdict = g.target ? (g.match ? 'ok' : 'FAIL') : `not targeted (${g.targetReason ?? 'reported only'})`;
    lines.push(`  generate ${g.name}: ${tokens}, step max|Δlogit| ${num(g.stepLogitsMaxAbsDiff)}  ${verdict}`);
    if (!g.match) lines.push(`    expected ${g.expected.join(' ')}\n    actual   ${g.actual.join(' ')}`);
  }
  for (const e of r.extra) lines.push(`  ${e.name}: ${e.detail}  ${e.ok ? 'ok' : e.target ? 'FAIL' : 'not targeted'}`);
  lines.push(r.ok ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
