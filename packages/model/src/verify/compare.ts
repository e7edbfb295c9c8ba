/**
 * Logit comparisons used by verify (llm.c `test_gpt2.c` style: max |Δ|, argmax agreement).
 */
import { argmax } from '@phi3/tensor';

/** max_i |a[i] - b[i]| over equal-length arrays (NaN anywhere → Infinity, so it always fails). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Gap between the largest and second-largest entry of a row. @param row [V] f32 */
export function top2Margin(row: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const x of row) {
    if (x > a) {
      b = a;
      a = x;
    } else if (x > b) b = x;
  }
  return a - b;
}

export interface ArgmaxComparison {
  /** fraction of rows whose argmax equals the reference argmax */
  readonly agreement: number;
  /** rows whose argmax differs although the reference top-2 margin exceeds `minMargin` */
  readonly decisiveMismatches: readonly number[];
}

/**
 * Compares per-row argmax of [rows, V] logits with the reference.
 * @param minMargin rows whose reference top-2 margin is <= this are ties within noise and never count as failures
 */
export function compareArgmax(actual: Float32Array, expected: Float32Array, rows: number, V: number, minMargin: number): ArgmaxComparison {
  let equal = 0;
  const decisiveMismatches: number[] = [];
  for (let r = 0; r < rows; r++) {
    const a = actual.subarray(r * V, (r + 1) * V);
    const e = expected.subarray(r * V, (r + 1) * V);
    if (argmax(a) === argmax(e)) equal++;
    else if (top2Margin(e) > minMargin) decisiveMismatches.push(r);
  }
  return { agreement: rows === 0 ? 1 : equal / rows, decisiveMismatches };
}
