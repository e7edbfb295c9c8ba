// f32 prefill product in SIMD128: Y[t, r] = Σ_c w[r, c] · x[t, c] for T tokens at once, W [rows, cols]
// row-major f32. The register tile is 2 rows × 4 tokens: each iteration loads 2 weight and 4 activation
// vectors for 8 multiply-adds (f32-matvec.ts needs 2 loads per multiply-add). Measured on phi-3-mini's
// MLP shapes, one thread: 1 × 4 ≈ 44 GFLOP/s, 2 × 4 ≈ 54, 3 × 4 ≈ 33 (16 v128 locals spill). Rows are
// taken CHUNK_ROWS at a time so the chunk stays in L2 while every token group passes over it. Lanes
// accumulate in f32 like f32_matvec, so results agree with the reference up to f32 summation order.
import type { FunctionSource, ValType } from '../assembler.ts';
import { advance, CHUNK_ROWS, countDown, f16HalfToF32x4, f16VectorConstants, horizontalSum, outputAddress, rowChunksOverTokens, touchLines } from './snippets.ts';

/** Rows per register tile (with 4 tokens: 8 accumulators, 2 weight and 1 activation vector in registers). */
const TILE_ROWS = 2;

/** Accumulator local of chunk row i (of the R in this pass) and token k. */
const acc = (i: number, k: number): string => `$acc${i}${k}`;

/**
 * Dots R rows starting at $p with tokens $t..$t+C−1 (x rows $q0..); stores Y[$t + k, chunk row $i + r].
 * Each iteration loads R weight vectors and C activation vectors for R·C multiply-adds.
 */
function tilePass(R: number, C: number): string {
  const ks = [...Array(C).keys()];
  const rs = [...Array(R).keys()];
  const id = `${R}x${C}`;
  return `
      local.get $p
      local.set $pw0
      ${rs.slice(1).map((r) => `
      local.get $pw${r - 1}
      local.get $xStride
      i32.add
      local.set $pw${r}`).join('')}
      ${ks.map((k) => `${rs.map((r) => `
      f32.const 0
      f32x4.splat
      local.set ${acc(r, k)}`).join('')}
      local.get $x
      local.get $t
      i32.const ${k}
      i32.add
      local.get $xStride
      i32.mul
      i32.add
      local.set $q${k}                 ;; x row of token t + ${k}`).join('')}
      local.get $cols
      i32.const 2
      i32.shr_u
      local.set $c                     ;; whole 4-column vectors (a count, not an end address: W may end at 4 GiB)
      block $vectorsDone${id}
        local.get $c
        i32.eqz
        br_if $vectorsDone${id}
        loop $vectors${id}             ;; 4 columns: acc_rk += w_r[pw_r] · x_k[q_k]
          ${rs.map((r) => `
          local.get $pw${r}
          v128.load
          local.set $wv${r}
          local.get $pw${r}
          i32.const 16
          i32.add
          local.set $pw${r}`).join('')}
          ${ks.map((k) => `
          local.get $q${k}
          v128.load
          local.set $xv${rs.map((r) => `
          local.get $wv${r}
          local.get $xv
          f32x4.mul
          local.get ${acc(r, k)}
          f32x4.add
          local.set ${acc(r, k)}`).join('')}
          local.get $q${k}
          i32.const 16
          i32.add
          local.set $q${k}`).join('')}
          local.get $c
          i32.const 1
          i32.sub
          local.tee $c
          br_if $vectors${id}
        end
      end
      ${ks.map((k) => rs.map((r) => `
      ${horizontalSum(acc(r, k))}
      local.set $s${r}${k}`).join('')).join('')}
      local.get $cols
      i32.const 3
      i32.and
      local.set $c
      block $tailDone${id}
        local.get $c
        i32.eqz
        br_if $tailDone${id}
        loop $tail${id}                ;; the last cols % 4 columns, one at a time
          ${ks.map((k) => `${rs.map((r) => `
          local.get $pw${r}
          f32.load
          local.get $q${k}
          f32.load
          f32.mul
          local.get $s${r}${k}
          f32.add
          local.set $s${r}${k}`).join('')}
          local.get $q${k}
          i32.const 4
          i32.add
          local.set $q${k}`).join('')}
          ${rs.map((r) => `
          local.get $pw${r}
          i32.const 4
          i32.add
          local.set $pw${r}`).join('')}
          local.get $c
          i32.const 1
          i32.sub
          local.tee $c
          br_if $tail${id}
        end
      end
      ${ks.map((k) => rs.map((r) => `${outputAddress(k, r)}
      local.get $s${r}${k}
      f32.store`).join('')).join('')}`;
}

/** Every row of the current chunk (at local `from`) against tokens $t..$t+C−1: TILE_ROWS rows per pass, then one at a time. */
function chunkRows(C: number, from = '$w'): string {
  const pass = (R: number, loop: string, enough: string) => `
    block $${loop}Done
      loop $${loop}
        ${enough}
        br_if $${loop}Done
        ${tilePass(R, C)}
        local.get $p
        local.get $xStride
        i32.const ${R}
        i32.mul
        i32.add
        local.set $p
        local.get $i
        i32.const ${R}
        i32.add
        local.set $i
        br $${loop}
      end
    end`;
  return `
    i32.const 0
    local.set $i
    local.get ${from}
    local.set $p
    ${pass(TILE_ROWS, `tileRows${C}`, `
        local.get $n
        local.get $i
        i32.sub
        i32.const ${TILE_ROWS}
        i32.lt_u                       ;; fewer than ${TILE_ROWS} rows left`)}
    ${pass(1, `oneRow${C}`, `
        local.get $i
        local.get $n
        i32.ge_u`)}`;
}

/** Per-row pointers and weight vectors, and per (row, token) accumulators and sums of the largest tile. */
function tileLocals(): (readonly [string, ValType])[] {
  const rs = [...Array(TILE_ROWS).keys()];
  const ks = [0, 1, 2, 3];
  return [
    ...rs.map((r) => [`$pw${r}`, 'i32'] as const),
    ...rs.map((r) => [`$wv${r}`, 'v128'] as const),
    ...rs.flatMap((r) => ks.map((k) => [acc(r, k), 'v128'] as const)),
    ...rs.flatMap((r) => ks.map((k) => [`$s${r}${k}`, 'f32'] as const)),
  ];
}

const MATMUL_LOCALS: (readonly [string, ValType])[] = [
  ['$xStride', 'i32'], ['$c', 'i32'], ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'], ['$p', 'i32'],
  ['$q0', 'i32'], ['$q1', 'i32'], ['$q2', 'i32'], ['$q3', 'i32'], ['$xv', 'v128'],
  ...tileLocals(),
];

/**
 * `f32_matmul($w, $rows, $cols, $x, $y, $tokens, $yStride)`: byte offsets of W [rows, cols] f32,
 * X [tokens, cols] f32 and Y (row t at y + 4·t·yStride; columns [0, rows) written); rows, cols,
 * tokens ≥ 1.
 */
export const f32Matmul: FunctionSource = {
  name: 'f32_matmul',
  params: [['$w', 'i32'], ['$rows', 'i32'], ['$cols', 'i32'], ['$x', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32']],
  locals: MATMUL_LOCALS,
  body: `
  local.get $cols
  i32.const 2
  i32.shl
  local.set $xStride                   ;; bytes of one row of W or X
  ${rowChunksOverTokens(chunkRows(4), chunkRows(1), '$xStride')}`,
};

/**
 * The prologue of an f16 chunk: its n rows (consecutive in W from $w) touched (touchLines: +3%),
 * then widened to f32 at $panel, where the f32 tiles read them (f16.ts widens the same way,
 * f16_check keeps out Inf/NaN).
 */
const widenF16Chunk = `${touchLines('$w', '$n', '$rowBytes')}
      local.get $w
      local.set $src
      local.get $panel
      local.set $dst
      local.get $n
      local.get $cols
      i32.mul
      i32.const 3
      i32.shr_u
      local.set $c                     ;; 8 f16 per step (cols is a multiple of 16)
      loop $widen
        local.get $src
        v128.load
        local.set $h
        local.get $dst${f16HalfToF32x4('$h', true)}
        v128.store
        local.get $dst${f16HalfToF32x4('$h', false)}
        v128.store offset=16
        ${advance('$src', 16)}
        ${advance('$dst', 32)}
        ${countDown('$c', '$widen')}
      end`;

/**
 * `f16_panels($w, $rows, $cols, $x, $y, $tokens, $yStride, $panel)`: f32_matmul over F16 weights
 * (W [rows, cols] f16, cols a multiple of 16), each CHUNK_ROWS-row chunk widened once into a per-thread
 * f32 panel (panel: CHUNK_ROWS · cols · 4 bytes) that every token then reads; for prefill, where
 * f16_matmul would widen every weight again for every token. Same sums as f32_matmul on f32(W).
 */
export const f16Panels: FunctionSource = {
  name: 'f16_panels',
  params: [['$w', 'i32'], ['$rows', 'i32'], ['$cols', 'i32'], ['$x', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'], ['$panel', 'i32']],
  locals: [...MATMUL_LOCALS, ['$rowBytes', 'i32'], ['$touch', 'i32'], ['$lines', 'i32'], ['$src', 'i32'], ['$dst', 'i32'], ['$h', 'v128'], ['$f16Mask', 'v128'], ['$f16Rebias', 'v128']],
  body: `${f16VectorConstants}
  local.get $cols
  i32.const 2
  i32.shl
  local.set $xStride                   ;; bytes of one row of the panel or X
  local.get $cols
  i32.const 1
  i32.shl
  local.set $rowBytes                  ;; bytes of one row of W
  ${rowChunksOverTokens(chunkRows(4, '$panel'), chunkRows(1, '$panel'), '$rowBytes', widenF16Chunk)}`,
};

/** Bytes of one thread's f16_panels panel for rows of `cols` columns. */
export const f16PanelBytes = (cols: number): number => CHUNK_ROWS * cols * 4;
