// Row-wise reductions over [rows, cols] f32 data: argmax, top-k, softmax, log-softmax, logSumExp.
// Sums run in JS doubles (Float32Array reads widen to float64), so they are more precise than a
// float32 PyTorch reduction; results are rounded to f32 on store.
import { ShapeError } from '../errors.ts';
import { assertDim, assertLength } from '../shape.ts';

function assertRows(out: Float32Array, x: Float32Array, rows: number, cols: number, op: string): void {
  assertDim(rows, `${op} rows`);
  assertDim(cols, `${op} cols`);
  assertLength(x, rows * cols, `${op} x`);
  assertLength(out, rows * cols, `${op} out`);
}

/**
 * Index of the largest element (the first one on ties; NaN never wins).
 * @param x [n] f32, n >= 1
 */
export function argmax(x: Float32Array): number {
  if (x.length === 0) throw new ShapeError('argmax: empty input');
  let best = 0;
  let bestValue = x[0];
  for (let i = 1; i < x.length; i++) {
    if (x[i] > bestValue || (Number.isNaN(bestValue) && !Number.isNaN(x[i]))) {
      best = i;
      bestValue = x[i];
    }
  }
  return best;
}

/** `k` largest entries, largest first; ties keep the lower index first. */
export interface TopK {
  /** [k] indices into x */
  readonly indices: Int32Array;
  /** [k] f32, x[indices[i]] */
  readonly values: Float32Array;
}

/** True when entry (va, ia) ranks after (vb, ib): smaller value, or equal value and larger index. */
function ranksAfter(va: number, ia: number, vb: number, ib: number): boolean {
  return va < vb || (va === vb && ia > ib);
}

/**
 * The k largest entries of x, largest first (ties: lower index first), in O(n log k) with a min-heap.
 * NaN entries are treated as -Infinity.
 * @param x [n] f32
 * @param k 0 <= k <= n
 */
export function topK(x: Float32Array, k: number): TopK {
  assertDim(k, 'topK k');
  if (k > x.length) throw new ShapeError(`topK: k=${k} exceeds input length ${x.length}`);
  // heap[0] is the current worst of the kept k entries.
  const heapIdx = new Int32Array(k);
  const heapVal = new Float64Array(k);
  let size = 0;
  const swap = (a: number, b: number): void => {
    const ti = heapIdx[a]; heapIdx[a] = heapIdx[b]; heapIdx[b] = ti;
    const tv = heapVal[a]; heapVal[a] = heapVal[b]; heapVal[b] = tv;
  };
  const worse = (a: number, b: number): boolean => ranksAfter(heapVal[a], heapIdx[a], heapVal[b], heapIdx[b]);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(l, m)) m = l;
      if (r < size && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i < x.length && k > 0; i++) {
    const v = Number.isNaN(x[i]) ? -Infinity : x[i];
    if (size < k) {
      heapIdx[size] = i; heapVal[size] = v;
      for (let c = size++; c > 0; ) { // sift up
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (ranksAfter(heapVal[0], heapIdx[0], v, i)) {
      heapIdx[0] = i; heapVal[0] = v;
      siftDown(0);
    }
  }
  // Pop worst-first into the back of the result.
  const indices = new Int32Array(k);
  const values = new Float32Array(k);
  for (let out = k - 1; out >= 0; out--) {
    indices[out] = heapIdx[0];
    values[out] = x[heapIdx[0]];
    size--;
    swap(0, size);
    siftDown(0);
  }
  return { indices, values };
}

/**
 * Row-wise log Σ exp, max-subtracted so it never overflows.
 * @param out [rows] f32 (written) @param x [rows, cols] f32, cols >= 1
 */
export function logSumExpInto(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertDim(rows, 'logSumExpInto rows');
  if (cols < 1) throw new ShapeError(`logSumExpInto: cols must be >= 1, got ${cols}`);
  assertLength(x, rows * cols, 'logSumExpInto x');
  assertLength(out, rows, 'logSumExpInto out');
  for (let r = 0; r < rows; r++) out[r] = rowLogSumExp(x, r * cols, cols);
}

function rowMax(x: Float32Array, off: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) if (x[off + j] > m) m = x[off + j];
  return m;
}

function rowLogSumExp(x: Float32Array, off: number, cols: number): number {
  const m = rowMax(x, off, cols);
  if (m === -Infinity || m === Infinity) return m; // all -inf (empty distribution) or an +inf entry
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[off + j] - m);
  return m + Math.log(s);
}

/**
 * Row-wise softmax, max-subtracted (torch.softmax semantics). `out` may alias `x`.
 * @param out [rows, cols] f32 (written) @param x [rows, cols] f32
 */
export function softmaxInto(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertRows(out, x, rows, cols, 'softmaxInto');
  const e = new Float64Array(cols); // one row's exp(x − max)
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = rowMax(x, off, cols);
    // the exponentials are kept in f64, so each output is rounded to f32 once
    let s = 0;
    for (let j = 0; j < cols; j++) s += (e[j] = Math.exp(x[off + j] - m));
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) out[off + j] = e[j] * inv;
  }
}

/**
 * Row-wise log-softmax: x - logSumExp(x). `out` may alias `x`.
 * @param out [rows, cols] f32 (written) @param x [rows, cols] f32
 */
export function logSoftmaxInto(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertRows(out, x, rows, cols, 'logSoftmaxInto');
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const lse = cols === 0 ? 0 : rowLogSumExp(x, off, cols);
    for (let j = 0; j < cols; j++) out[off + j] = x[off + j] - lse;
  }
}
