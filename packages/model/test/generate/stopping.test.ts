import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { collectEosIds, createStopStringFilter } from '../../src/generate/stopping.ts';
import { InvalidArgumentError } from '../../src/errors.ts';

describe('collectEosIds', () => {
  test('unions config, generation_config and tokenizer ids, never replacing', () => {
    const ids = collectEosIds(32000, [32000, 32001, 32007], undefined, null, [32007]);
    expect([...ids].sort((a, b) => a - b)).toEqual([32000, 32001, 32007]);
  });
  test('ignores non-integer and negative ids', () => {
    expect([...collectEosIds([1.5, -1, 2])]).toEqual([2]);
  });
});

/** Feeds `chunks` through a filter; returns the printed text and whether it stopped. */
function run(stops: string[], chunks: string[]): { out: string; stopped: boolean; printedEachStep: string[] } {
  const f = createStopStringFilter(stops);
  let out = '';
  const printedEachStep: string[] = [];
  for (const c of chunks) {
    const step = f.push(c);
    out += step.text;
    printedEachStep.push(out);
    if (step.stopped) return { out, stopped: true, printedEachStep };
  }
  out += f.flush();
  return { out, stopped: false, printedEachStep };
}

describe('stop strings', () => {
  test('a stop string split across chunks is never printed', () => {
    const r = run(['\n\nJULIET'], ['ROMEO: hi', '\n', '\nJU', 'LIET: yo']);
    expect(r).toMatchObject({ out: 'ROMEO: hi', stopped: true });
    // nothing of the partial match was shown on the way
    for (const shown of r.printedEachStep) expect(shown.endsWith('\n')).toBe(false);
  });

  test('a partial match that fails is released', () => {
    expect(run(['END'], ['the EN', 'D', 'ing'])).toMatchObject({ out: 'the ', stopped: true });
    expect(run(['END'], ['the EN', 'Ding'])).toMatchObject({ out: 'the ', stopped: true });
    expect(run(['END'], ['the EN', 'x'])).toMatchObject({ out: 'the ENx', stopped: false });
    expect(run(['END'], ['the EN'])).toMatchObject({ out: 'the EN', stopped: false }); // flush at the end
  });

  test('the earliest of several stop strings wins', () => {
    expect(run(['bb', 'a'], ['xxbba'])).toMatchObject({ out: 'xx', stopped: true });
  });

  test('empty stop string → InvalidArgumentError', () => {
    expect(() => createStopStringFilter([''])).toThrow(InvalidArgumentError);
  });

  const textArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n'), maxLength: 40 });
  test.prop(
    [textArb, fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n'), minLength: 1, maxLength: 4 }), { maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 })],
    { seed: 7, numRuns: 300 },
  )('equals cutting the whole text at the first stop string, however it is chunked', (text, stops, sizes) => {
    const chunks: string[] = [];
    for (let i = 0, k = 0; i < text.length; k++) {
      const n = sizes[k % sizes.length];
      chunks.push(text.slice(i, i + n));
      i += n;
    }
    const cuts = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
    const expected = cuts.length ? text.slice(0, Math.min(...cuts)) : text;
    const r = run(stops, chunks);
    expect(r.out).toBe(expected);
    expect(r.stopped).toBe(cuts.length > 0);
    // what is printed at each step is always a prefix of the final answer
    for (const shown of r.printedEachStep) expect(expected.startsWith(shown)).toBe(true);
  });
});
