import { describe, expect, test } from 'vitest';
import { createProgressBar, formatSpeed, statusLine, type StatusOutput } from '../src/progress.ts';

/** A StatusOutput that records what would reach stderr. */
function recorder(enabled: boolean, interactive: boolean): StatusOutput & { written: string[] } {
  const written: string[] = [];
  const stream = { write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, enabled, interactive, written };
}

describe('progress output', () => {
  test('on a terminal the bar redraws in place and the final message replaces it', () => {
    const out = recorder(true, true);
    const bar = createProgressBar(out, 'loading x');
    for (let i = 1; i <= 4; i++) bar.update(i, 4);
    bar.update(4, 4); // same percentage: no redraw
    bar.done('loaded x');
    expect(out.written).toHaveLength(5);
    expect(out.written[0]).toBe(`\rloading x [${'#'.repeat(6)}${'.'.repeat(18)}]  25%`);
    expect(out.written[3]).toBe(`\rloading x [${'#'.repeat(24)}] 100%`);
    expect(out.written[4]).toBe('\r\x1b[Kloaded x\n');
  });

  test('not a terminal but -v: no bar, only the final message; disabled: nothing', () => {
    const verbose = recorder(true, false);
    const bar = createProgressBar(verbose, 'loading x');
    bar.update(1, 2);
    bar.done('loaded x');
    statusLine(verbose, 'hello');
    expect(verbose.written).toEqual(['loaded x\n', 'hello\n']);
    const quiet = recorder(false, false);
    createProgressBar(quiet, 'loading x').done('loaded x');
    statusLine(quiet, 'hello');
    expect(quiet.written).toEqual([]);
  });

  test('tokens/s line', () => {
    expect(formatSpeed({ promptTokens: 4, promptTokensPerSecond: 812.34, generatedTokens: 40, decodeTokensPerSecond: 95.06 }))
      .toBe('prompt: 4 tokens, 812.3 tok/s | generated: 40 tokens, 95.1 tok/s');
    expect(formatSpeed({ promptTokens: 4, promptTokensPerSecond: 10, generatedTokens: 1, decodeTokensPerSecond: 0 }))
      .toBe('prompt: 4 tokens, 10.0 tok/s | generated: 1 tokens, - tok/s');
  });
});
