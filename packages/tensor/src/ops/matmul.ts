// Dense f32 matrix products. Readable references (`*Ref*`) are the spec; the fast kernels beside them
// are what the library uses and are property-tested against the references.
//
// Numerics: JS evaluates `a[i] * b[j]` and `+=` on Float32Array elements in float64 and rounds only
// when storing, so every kernel here accumulates in double — more precise than a float32 BLAS.
import { ShapeError } from '../errors.ts';
import { assertDim, assertLength } from '../shape.ts';

function assertMatmul(out: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, op: string): void {
  assertDim(m, `${op} m`);
  assertDim(k, `${op} k`);
  assertDim(n, `${op} n`);
  assertLength(a, m * k, `${op} a`);
  assertLength(b, k * n, `${op} b`);
  assertLength(out, m * n, `${op} out`);
}

function assertMatvec(y: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number, op: string): void {
  assertDim(rows, `${op} rows`);
  assertDim(cols, `${op} cols`);
  assertLength(w, rows * cols, `${op} w`);
  assertLength(x, cols, `${op} x`);
  assertLength(y, rows, `${op} y`);
}

/**
 * Reference matmul, the textbook triple loop: out[i, j] = Σ_p a[i, p] · b[p, j].
 * @param out [m, n] f32 (written; must not alias a or b)
 * @param a   [m, k] f32
 * @param b   [k, n] f32
 */
export function matmulRefInto(out: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number): void {
  assertMatmul(out, a, b, m, k, n, 'matmulRefInto');
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
}

/**
 * Reference decode product with W stored [out, in] as checkpoints store it: y[r] = Σ_c w[r, c] · x[c].
 * @param y [rows] f32 (written)
 * @param w [rows, cols] f32
 * @param x [cols] f32
 */
export function matvecRefInto(y: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertMatvec(y, w, x, rows, cols, 'matvecRefInto');
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
}

/**
 * Blocked matmul: packs b as bᵀ (so both operands are read along contiguous k) and runs the
 * register-tiled `abtInto` kernel. Same result as `matmulRefInto` up to summation order.
 * @param out [m, n] f32 (written; must not alias a or b)
 * @param a   [m, k] f32
 * @param b   [k, n] f32
 */
export function matmulInto(out: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number): void {
  assertMatmul(out, a, b, m, k, n, 'matmulInto');
  const bt = new Float32Array(n * k); // [n, k]: column j of b is row j of bt
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
  }
  abtInto(out, a, bt, m, n, k);
}

/**
 * Fast decode product y = W·x for W [rows, cols]: four rows per pass share each load of x[c].
 * @param y [rows] f32 (written)
 * @param w [rows, cols] f32
 * @param x [cols] f32
 */
export function matvecInto(y: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertMatvec(y, w, x, rows, cols, 'matvecInto');
  abtInto(y, x, w, 1, rows, cols);
}

// Columns of the result handled per cache block: NB rows of bt × k floats stay in L2 while every
// 4-row group of a streams past them.
const NB = 64;

/**
 * The shared fast kernel, "a times b-transposed": out[i, j] = Σ_p a[i, p] · bt[j, p].
 * Both operands are walked along contiguous p. Full 4×4 tiles keep 16 sums in registers (8 loads feed
 * 16 multiply-adds); a leftover row of a uses the 1×4 kernel; leftover columns use a plain dot.
 * This is also `linear` (x [T, in] · Wᵀ with W [out, in]) without any packing.
 * @param out       f32, out[outOffset + i·ldo + j] written for i < m, j < n
 * @param a         [m, k] f32
 * @param bt        [n, k] f32
 * @param ldo       row stride of out (default n: a dense [m, n] result)
 * @param outOffset index of out[0, 0]
 */
export function abtInto(out: Float32Array, a: Float32Array, bt: Float32Array, m: number, n: number, k: number, ldo = n, outOffset = 0): void {
  for (const [v, name] of [[m, 'm'], [n, 'n'], [k, 'k'], [outOffset, 'outOffset']] as const) assertDim(v, `abtInto ${name}`);
  if (a.length < m * k || bt.length < n * k || ldo < n || (m > 0 && n > 0 && out.length < outOffset + (m - 1) * ldo + n)) {
    throw new ShapeError(`abtInto: a[${a.length}], bt[${bt.length}], out[${out.length}] too short for m=${m}, n=${n}, k=${k}, ldo=${ldo}, offset=${outOffset}`);
  }
  for (let j0 = 0; j0 < n; j0 += NB) {
    const jEnd = Math.min(j0 + NB, n);
    const jTiles = j0 + ((jEnd - j0) & ~3); // end of the full 4-wide column tiles
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      for (let j = j0; j < jTiles; j += 4) tile4x4(out, outOffset + i * ldo + j, ldo, a, bt, i, j, k);
      for (let j = jTiles; j < jEnd; j++) {
        for (let ii = i; ii < i + 4; ii++) out[outOffset + ii * ldo + j] = dot(a, ii * k, bt, j * k, k);
      }
    }
    for (; i < m; i++) {
      for (let j = j0; j < jTiles; j += 4) tile1x4(out, outOffset + i * ldo + j, a, bt, i, j, k);
      for (let j = jTiles; j < jEnd; j++) out[outOffset + i * ldo + j] = dot(a, i * k, bt, j * k, k);
    }
  }
}

/** Σ_p x[xo + p] · y[yo + p], p < k. */
function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += x[xo + p] * y[yo + p];
  return s;
}

/** out[i..i+3, j..j+3] (starting at index o, row stride ldo) = a[i..i+3, :] · bt[j..j+3, :]ᵀ with 16 register accumulators. */
function tile4x4(out: Float32Array, o: number, ldo: number, a: Float32Array, bt: Float32Array, i: number, j: number, k: number): void {
  const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
  const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < k; p++) {
    const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p];
    const y0 = bt[b0 + p], y1 = bt[b1 + p], y2 = bt[b2 + p], y3 = bt[b3 + p];
    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
  }
  out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03; o += ldo;
  out[o] = c10; out[o + 1] = c11; out[o + 2] = c12; out[o + 3] = c13; o += ldo;
  out[o] = c20; out[o + 1] = c21; out[o + 2] = c22; out[o + 3] = c23; o += ldo;
  out[o] = c30; out[o + 1] = c31; out[o + 2] = c32; out[o + 3] = c33;
}

/** out[i, j..j+3] (from index o) = a[i, :] · bt[j..j+3, :]ᵀ: one load of a[i, p] feeds four rows of bt (the matvec case). */
function tile1x4(out: Float32Array, o: number, a: Float32Array, bt: Float32Array, i: number, j: number, k: number): void {
  const a0 = i * k;
  const b0 = j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  let p = 0;
  for (; p + 2 <= k; p += 2) { // unrolled by 2: measured ~20% faster than one p per iteration
    const x0 = a[a0 + p], x1 = a[a0 + p + 1];
    c0 += x0 * bt[b0 + p] + x1 * bt[b0 + p + 1];
    c1 += x0 * bt[b1 + p] + x1 * bt[b1 + p + 1];
    c2 += x0 * bt[b2 + p] + x1 * bt[b2 + p + 1];
    c3 += x0 * bt[b3 + p] + x1 * bt[b3 + p + 1];
  }
  if (p < k) {
    const x = a[a0 + p];
    c0 += x * bt[b0 + p];
    c1 += x * bt[b1 + p];
    c2 += x * bt[b2 + p];
    c3 += x * bt[b3 + p];
  }
  out[o] = c0; out[o + 1] = c1; out[o + 2] = c2; out[o + 3] = c3;
}
