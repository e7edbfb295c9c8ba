// Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K prefill (T ≥ 4 tokens) in SIMD128: the sums of quant-groups.ts,
//   Y[t, r] = Σ_b d_w[r, b] · d_x[t, b] · (Σ_j q_w[r, 32b + j] · q_x[t, 32b + j]),
// as register tiles of two row groups (eight rows) × four tokens, with the rows in the lanes.
//
// Each chunk of CHUNK_ROWS rows is first unpacked into a per-thread panel, word-interleaved: one v128
// holds the same 32-bit word (2 int16 codes, or 4 int8 ones) of the four rows, [r0 r1 r2 r3]. The
// activation codes come interleaved by token quads ([quad][word][4 tokens], interleave_quads), so
// `v128.load32_splat` broadcasts one token's matching word to all four lanes, and one integer dot
// (`i32x4.dot_i16x8_s`, or relaxed SIMD's `i16x8.relaxed_dot_i8x16_i7x16_s`) gives each row's partial
// sum in its own lane. A block's dots accumulate in registers (eight per tile, one per group and token)
// with no transposes and no horizontal sums; each panel vector loaded feeds four tokens, and each
// activation word two groups. A chunk's last group, when it has an odd number, runs alone. At a block's end the
// i32 lanes are the four rows' exact block dots, scaled and accumulated exactly as quant-groups.ts
// does — so prefill gives bit for bit the results of decoding token by token.
//
// Int8 (Q4_0 × int8 activations): a lane holds two i16 sums of one row (its codes 4m + {0, 1} and
// 4m + {2, 3}), started at −8 Σ of the matching activation codes so they stay sums of q · q_x, exact
// in i16 (|each| ≤ 16 · 8 · 127 = 16256); `i32x4.extadd_pairwise_i16x8_s` adds them at the end.
//
// Q4_K (GGUF rows as they are, relaxed SIMD): the panel holds each 32-element sub-block of four rows
// with their 6-bit scales and mins unpacked to f32 (d·sc, dmin·m / 8), and the tile is Q4_0 × int8's
// without the offset, minus the mins term (dmin·m / 8) · d_x · 8 Σ q_x. It equals the Q4_K matvec up to
// f32 rounding, not bit for bit: the matvec groups the same sums by sub-block lanes instead of rows.
// Q5_K (GGUF rows): Q4_K's scales and mins with the 5-bit codes widened to i16 against int16
// activations (its decode kernel uses int8 ones with relaxed SIMD). Q6_K (GGUF rows): the codes q − 32
// as i16 against int16 activations, as Q8_0, with the dots flushed after each 16-element half of a
// block (each half has its own scale). k-quant-panels.ts unpacks the K-quant formats.
//
// Why this shape: V8 (TurboFan) places pure SIMD operations next to their uses and keeps loads in
// program order, so a straight-line block of 16 independent dots (quant-groups.ts) hoists every load
// and spills; a one-step loop body does not. With one group × four tokens a step is five loads and
// four dots, and V8's per-iteration overhead dominates (~3 cycles a step where the dots need 2); two
// groups × four tokens (eight dots, three loads) is the largest tile that stays in registers — three
// groups or six tokens spill. Each chunk's prologue first touches its weight lines (touchLines), so
// they arrive at memory bandwidth instead of at the unpacking's pace. One thread, [8192×3072], 32
// tokens, weights from DRAM: Q4_0 × int8 122 → 148 GFLOP/s, Q8_0 79 → 90 for both changes (and
// 112 → 122 and 54 → 76 earlier, against the group kernels run over every token); at 64 tokens
// against their matvecs Q4_K × int8 51 → 124, Q5_K 28 → 78, Q6_K 18 → 74 (see the README's
// performance section).
import type { FunctionSource } from '../assembler.ts';
import { blockFormat } from '../../quant/registry.ts';
import { groupBlockBytes, isRowGroupFormat, ROW_GROUP, type RowGroupFormat } from '../../quant/row-groups.ts';
import { codesAt } from './code-layouts.ts';
import { widenQ45KChunk, widenQ6KChunk } from './k-quant-panels.ts';
import {
  advance, CHUNK_ROWS, chunksForEveryToken, countDown, f16VectorConstants, f16x4ToF32x4, storeGroupOutputs, touchLines, transposeStore,
} from './snippets.ts';

/** Groups per chunk (CHUNK_ROWS rows). */
const CHUNK_GROUPS = CHUNK_ROWS / ROW_GROUP;
/** Tokens per activation quad: the tile width, and the interleave of interleave_quads. */
export const TOKEN_QUAD = 4;

/** How one format's weights (row groups, or K-quants' GGUF rows) become panel words, and how a tile multiplies them. */
interface TileLayout {
  /** Kernel name prefix: the weight format, plus `_i8` for the int8-activation variant. */
  readonly name: TileFormat;
  readonly format: 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';
  /** 32-bit words of one token's activation block (32 codes): 16 of int16 codes, 8 of int8. */
  readonly steps: 16 | 8;
  /** The prologue that unpacks a chunk into the panel (widenRowGroups, or k-quant-panels.ts for GGUF rows). */
  readonly widen: (layout: TileLayout) => string;
  /** The dot of a panel vector with a splat activation word, and how a tile accumulates it. */
  readonly dot: string;
  readonly add: string;
  /** True when the accumulated lanes are i16 pair sums (int8), added pairwise into i32 at block end. */
  readonly pairSums: boolean;
  /**
   * Q4_0 stores q + 8, so the dots include 8 Σ q_x: `subtract` it (quantize_x's total) once per
   * block, or start the i16 lanes at the `initial` halves −8 Σ (quantize_x_i8_halves), which keeps
   * every partial sum a sum of q · q_x (|lane| ≤ 16256) and saves the subtraction.
   */
  readonly offset: 'none' | 'subtract' | 'initial';
  /**
   * Q4_K: value = d·sc·q − dmin·m per 32-element sub-block, so each panel block also holds the four
   * rows' dmin·m / 8, and the block adds − (dmin·m / 8) · d_x · 8 Σ q_x (quantize_x_i8's sum).
   */
  readonly mins: boolean;
  /**
   * Q6_K: each 16-element half of a block has its own scale (d·sc, sc int8), so the tile flushes its
   * dots with the first half's scales after half the steps and with the second's after the rest.
   */
  readonly halfScales: boolean;
}

/** Q4_0 row i's nibbles as bytes: elements 0–15 (low nibbles) or 16–31 (high), each q + 8. */
const nibbles = (i: number, high: boolean): string => `
      local.get $pb
      v128.load offset=${codesAt('q4_0', i)}${high ? `
      i32.const 4
      i8x16.shr_u` : `
      local.get $lowNibble
      v128.and`}`;

const Q8_0_TILES: TileLayout = {
  name: 'q8_0',
  format: 'q8_0',
  steps: 16,
  widen: (layout) => widenRowGroups(layout, (i, k) => `
      local.get $pb
      v128.load8x8_s offset=${codesAt('q8_0', i) + 8 * k}`),
  dot: 'i32x4.dot_i16x8_s',
  add: 'i32x4.add',
  pairSums: false,
  offset: 'none',
  mins: false,
  halfScales: false,
};

const Q4_0_TILES: TileLayout = {
  name: 'q4_0',
  format: 'q4_0',
  steps: 16,
  widen: (layout) => widenRowGroups(layout, (i, k) => `${nibbles(i, k >= 2)}
      i16x8.extend_${k % 2 === 0 ? 'low' : 'high'}_i8x16_u`),
  dot: 'i32x4.dot_i16x8_s',
  add: 'i32x4.add',
  pairSums: false,
  offset: 'subtract',
  mins: false,
  halfScales: false,
};

/** The nibbles 0–15 are the 7-bit unsigned operand relaxed SIMD's int8 dot wants: exact on every engine. */
const Q4_0_I8_TILES: TileLayout = {
  name: 'q4_0_i8',
  format: 'q4_0',
  steps: 8,
  widen: (layout) => widenRowGroups(layout, (i, k) => nibbles(i, k === 1)),
  dot: 'i16x8.relaxed_dot_i8x16_i7x16_s',
  add: 'i16x8.add',
  pairSums: true,
  offset: 'initial',
  mins: false,
  halfScales: false,
};

/**
 * Q4_K (ggml `block_q4_K`, read as GGUF stores the rows): per sub-block of 32, unsigned nibbles
 * 0–15 (no offset: the halves stay ≤ 16 · 15 · 127 = 30480), their 6-bit scale and min unpacked to
 * f32 when a chunk is unpacked. Needs relaxed SIMD, like Q4_0 × int8.
 */
const Q4_K_I8_TILES: TileLayout = {
  name: 'q4_k_i8',
  format: 'q4_k',
  steps: 8,
  widen: () => widenQ45KChunk('q4_k'),
  dot: 'i16x8.relaxed_dot_i8x16_i7x16_s',
  add: 'i16x8.add',
  pairSums: true,
  offset: 'none',
  mins: true,
  halfScales: false,
};

/** Q5_K (ggml `block_q5_K`, GGUF rows as they are): Q4_K's scales and mins, 5-bit codes as i16 against int16 activations. */
const Q5_K_TILES: TileLayout = {
  name: 'q5_k',
  format: 'q5_k',
  steps: 16,
  widen: () => widenQ45KChunk('q5_k'),
  dot: 'i32x4.dot_i16x8_s',
  add: 'i32x4.add',
  pairSums: false,
  offset: 'none',
  mins: true,
  halfScales: false,
};

/**
 * Q6_K (ggml `block_q6_K`, GGUF rows as they are): codes q − 32 (−32 … 31) as i16 against int16
 * activations, like Q8_0's tile, with a scale per 16 elements (halfScales).
 */
const Q6_K_TILES: TileLayout = {
  name: 'q6_k',
  format: 'q6_k',
  steps: 16,
  widen: widenQ6KChunk,
  dot: 'i32x4.dot_i16x8_s',
  add: 'i32x4.add',
  pairSums: false,
  offset: 'none',
  mins: false,
  halfScales: true,
};

/** Bytes before a panel block's words: the four rows' scales as f32x4, and Q4_K's mins or Q6_K's second scales. */
const headerBytes = (layout: TileLayout): number => (layout.mins || layout.halfScales ? 32 : 16);

/** Panel bytes of one group block (Q4_K: of one sub-block of four rows): the header, then `steps` word vectors. */
const panelBlockBytes = (layout: TileLayout): number => headerBytes(layout) + 16 * layout.steps;

/** Bytes of W per row group and block of 32 columns (K-quants, GGUF rows: four rows' eighth of a super-block). */
const groupBytesPerBlock = ({ format }: TileLayout): number =>
  isRowGroupFormat(format) ? groupBlockBytes(format) : (ROW_GROUP * blockFormat(format).blockBytes) / 8;

/**
 * The prologue of a Q8_0 / Q4_0 chunk: its n groups (n · blocks group blocks, consecutive in W)
 * unpacked into the panel; `rowWords(i, k)` pushes row i's words 4k … 4k + 3 (k < steps / 4) of the
 * row-group block at $pb as a v128.
 */
function widenRowGroups(layout: TileLayout, rowWords: (i: number, k: number) => string): string {
  const format = layout.format as RowGroupFormat;
  const rows = [...Array(ROW_GROUP).keys()];
  return `
      local.get $w
      local.set $pb
      local.get $panel
      local.set $pd
      local.get $n
      local.get $blocks
      i32.mul
      local.set $b
      loop $widen
        local.get $pd${f16x4ToF32x4('$pb')}
        v128.store${[...Array(layout.steps / 4).keys()].map((k) => `${rows.map((i) => `${rowWords(i, k)}
        local.set $r${i}`).join('')}${transposeStore('$pd', 16 + 64 * k)}`).join('')}
        ${advance('$pb', groupBlockBytes(format))}
        ${advance('$pd', panelBlockBytes(layout))}
        ${countDown('$b', '$widen')}
      end`;
}

/** Row groups per tile: two (eight rows) while a chunk has two left, then one. */
type TileGroups = 1 | 2;

/**
 * `groups` groups (their panels at $p and $p + $panelGroupBytes) against `tokens` (4 or 1) tokens
 * from $t: stores Y[$t + j, 4($i + g) … 4($i + g) + 3]. Each splat activation word feeds every group,
 * and each panel vector every token: with two groups × four tokens, eight dots per step share three
 * loads (V8 keeps the eight accumulators in registers; three groups or six tokens spill).
 */
function tilePass(layout: TileLayout, tokens: number, groups: TileGroups): string {
  const js = [...Array(tokens).keys()];
  const gs = [...Array(groups).keys()];
  /** Per (group, token) accumulators: the block's integer dots, and the running f32 outputs. */
  const dot = (g: number, j: number): string => `$dot${g}${j}`;
  const acc = (g: number, j: number): string => `$acc${g}${j}`;
  const perGroupAndToken = (f: (g: number, j: number) => string): string => gs.map((g) => js.map((j) => f(g, j)).join('')).join('');
  const tokenInQuad = (base: string, quadBytes: string): string => `
        local.get ${base}
        local.get $t
        i32.const 2
        i32.shr_u
        local.get ${quadBytes}
        i32.mul
        i32.add
        local.get $t
        i32.const 3
        i32.and
        i32.const 2
        i32.shl
        i32.add`;
  const parts = layout.halfScales ? 2 : 1;
  /** One step: one word of each group's rows against each token's matching word, into the dots (set, on a first step). */
  const step = (set: boolean): string => `${gs.map((g) => `
            local.get $pw${g}
            v128.load offset=${headerBytes(layout)}
            local.set $wv${g}              ;; one word of each row`).join('')}${js.map((j) => `
            local.get $px
            v128.load32_splat offset=${4 * j}
            local.set $xw                ;; token j's word, in every lane${gs.map((g) => `
            local.get $xw
            local.get $wv${g}
            ${layout.dot}                ;; (activations, weights): the weights are relaxed SIMD's 7-bit operand${set ? '' : `
            local.get ${dot(g, j)}
            ${layout.add}`}
            local.set ${dot(g, j)}`).join('')}`).join('')}${gs.map((g) => `
            ${advance(`$pw${g}`, 16)}`).join('')}
            ${advance('$px', 4 * TOKEN_QUAD)}`;
  /**
   * How a part's dots start: Q4_0 × int8's at the offset halves; the other layouts' with a first step
   * that sets them (no zeroing and no adds to zero: Q8_0 tiles +5%, Q6_K +13%), the loop running the rest.
   */
  const start = layout.offset === 'initial' ? perGroupAndToken((g, j) => `
          local.get $ps
          v128.load32_splat offset=${4 * (TOKEN_QUAD + j)}
          local.set ${dot(g, j)}            ;; (−8 Σ q_x halves) in every row's pair of i16 lanes`) : step(true);
  const looped = layout.offset === 'initial' ? layout.steps / parts : layout.steps / parts - 1;
  /** acc += the block's (or half's) dots of token j and group g, scaled by the rows' `scales` and d_x. */
  const flush = (g: number, j: number, scales: string): string => `
          local.get ${dot(g, j)}${layout.pairSums ? `
          i32x4.extadd_pairwise_i16x8_s` : ''}${layout.offset === 'subtract' ? `
          local.get $ps
          v128.load32_splat offset=${4 * (TOKEN_QUAD + j)}
          i32x4.sub                    ;; minus 8 Σ q_x: the nibbles' +8` : ''}
          f32x4.convert_i32x4_s
          local.get ${scales}
          local.get $ps
          v128.load32_splat offset=${4 * j}
          f32x4.mul                    ;; d_w · d_x for the four rows
          f32x4.mul${layout.mins ? `
          local.get $wm${g}
          local.get $ps
          v128.load32_splat offset=${4 * (TOKEN_QUAD + j)}
          f32x4.convert_i32x4_s
          local.get $ps
          v128.load32_splat offset=${4 * j}
          f32x4.mul                    ;; 8 Σ q_x · d_x
          f32x4.mul
          f32x4.sub` : ''}
          local.get ${acc(g, j)}
          f32x4.add
          local.set ${acc(g, j)}`;
  return `${tokenInQuad('$xq', '$quadCodeBytes')}
        local.set $px                  ;; token t's words, 16 bytes apart
        ${tokenInQuad('$xs', '$quadPairBytes')}
        local.set $ps                  ;; token t's scale, 16 bytes before its 8 Σ codes${perGroupAndToken((g, j) => `
        f32.const 0
        f32x4.splat
        local.set ${acc(g, j)}`)}
        local.get $p
        local.set $pw0${groups === 2 ? `
        local.get $p
        local.get $panelGroupBytes
        i32.add
        local.set $pw1                 ;; the next group's panel` : ''}
        local.get $blocks
        local.set $b
        loop $block${gs.map((g) => `
          local.get $pw${g}
          v128.load
          local.set $ws${g}               ;; the four rows' scales${headerBytes(layout) === 32 ? `
          local.get $pw${g}
          v128.load offset=16
          local.set $wm${g}               ;; ${layout.mins ? 'and their dmin · m / 8' : 'and those of the second half'}` : ''}`).join('')}${[...Array(parts).keys()].map((part) => `${start}
          i32.const ${looped}
          local.set $k
          loop $step${part}${step(false)}
            ${countDown('$k', `$step${part}`)}
          end${perGroupAndToken((g, j) => flush(g, j, part === 0 ? `$ws${g}` : `$wm${g}`))}`).join('')}${gs.map((g) => `
          ${advance(`$pw${g}`, headerBytes(layout))}`).join('')}
          ${advance('$ps', 8 * TOKEN_QUAD)}
          ${countDown('$b', '$block')}
        end${perGroupAndToken((g, j) => storeGroupOutputs(acc(g, j), j, g))}`;
}

function quantTiles(layout: TileLayout): FunctionSource {
  const four = [0, 1, 2, 3];
  return {
    name: `${layout.name}_tiles`,
    params: [
      ['$w', 'i32'], ['$groups', 'i32'], ['$blocks', 'i32'], ['$xq', 'i32'], ['$xs', 'i32'], ['$y', 'i32'], ['$tokens', 'i32'], ['$yStride', 'i32'],
      ['$panel', 'i32'],
    ],
    locals: [
      ['$groupBytes', 'i32'], ['$panelGroupBytes', 'i32'], ['$touch', 'i32'], ['$lines', 'i32'], ['$quadCodeBytes', 'i32'], ['$quadPairBytes', 'i32'],
      ['$n', 'i32'], ['$t', 'i32'], ['$i', 'i32'], ['$p', 'i32'], ['$pb', 'i32'], ['$pd', 'i32'], ['$px', 'i32'], ['$ps', 'i32'], ['$b', 'i32'], ['$k', 'i32'],
      ['$pw0', 'i32'], ['$pw1', 'i32'], ['$ws0', 'v128'], ['$ws1', 'v128'], ['$wm0', 'v128'], ['$wm1', 'v128'], ['$wv0', 'v128'], ['$wv1', 'v128'], ['$xw', 'v128'],
      ['$rowBytes', 'i32'], ['$pg', 'i32'], ['$gi', 'i32'], ...four.map((r) => [`$q${r}`, 'i32'] as const),
      ...four.map((r) => [`$dk${r}`, 'f32'] as const), ...four.map((r) => [`$mk${r}`, 'f32'] as const),
      ['$low16', 'v128'], ['$three16', 'v128'], ['$bias16', 'v128'], ['$one16', 'v128'], ...[0, 1].flatMap((g) => four.flatMap((j) => [[`$dot${g}${j}`, 'v128'], [`$acc${g}${j}`, 'v128']] as const)),
      ...four.map((i) => [`$r${i}`, 'v128'] as const), ['$t01', 'v128'], ['$t23', 'v128'], ['$lowNibble', 'v128'], ['$f16Mask', 'v128'], ['$f16Rebias', 'v128'],
    ],
    body: `
  local.get $blocks
  i32.const ${groupBytesPerBlock(layout)}
  i32.mul
  local.tee $groupBytes
  i32.const 2
  i32.shr_u
  local.set $rowBytes                  ;; Q4_K: one GGUF row
  local.get $blocks
  i32.const ${panelBlockBytes(layout)}
  i32.mul
  local.set $panelGroupBytes
  local.get $blocks
  i32.const ${16 * layout.steps}
  i32.mul
  local.set $quadCodeBytes             ;; a quad's codes: blocks · steps words · 4 tokens
  local.get $blocks
  i32.const ${8 * TOKEN_QUAD}
  i32.mul
  local.set $quadPairBytes             ;; a quad's pairs: blocks · (4 scales, 4 sums)
  i32.const 15
  i8x16.splat
  local.set $lowNibble${f16VectorConstants}
  ${chunksForEveryToken('$groups', CHUNK_GROUPS, '$groupBytes', 4 * ROW_GROUP, {
    two: { four: tilePass(layout, 4, 2), one: tilePass(layout, 1, 2) },
    one: { four: tilePass(layout, 4, 1), one: tilePass(layout, 1, 1) },
  },
    { prologue: `${touchLines('$w', '$n', '$groupBytes')}${layout.widen(layout)}`, from: '$panel', step: '$panelGroupBytes' })}`,
  };
}

/**
 * `q8_0_tiles($w, $groups, $blocks, $xq, $xs, $y, $tokens, $yStride, $panel)`: byte offsets of the
 * row-group weights [groups · 4 rows, blocks]; activation codes xq as interleave_quads leaves them,
 * [⌈tokens/4⌉ quads][16 · blocks words][4 tokens] (int16 codes; int8 for q4_0_i8: 8 · blocks words),
 * and their pairs xs [quads][blocks][(4 scales f32, 4 sums)] (quantize_x_i16's 8 Σ; q4_0_i8:
 * quantize_x_i8_halves' i16 pairs); Y (row t at y + 4·t·yStride;
 * columns [0, 4·groups) written, yStride ≥ 4·groups); a per-thread panel of tilePanelBytes. blocks ≥ 1,
 * tokens ≥ 1. Gives exactly the results of q8_0_groups on the same activations.
 */
export const q8_0Tiles = quantTiles(Q8_0_TILES);
export const q4_0Tiles = quantTiles(Q4_0_TILES);
/** `q4_0_i8_tiles(...)`: Q4_0 against int8 activation codes; needs relaxed SIMD. */
export const q4_0I8Tiles = quantTiles(Q4_0_I8_TILES);
/**
 * `q4_k_i8_tiles(...)`: Q4_K rows as GGUF stores them ($w at row 0, 4 · groups rows of blocks / 8
 * super-blocks; blocks counts sub-blocks of 32) against int8 activation codes with quantize_x_i8's
 * 8 Σ sums; needs relaxed SIMD. Equals q4_k_i8_matvec up to f32 rounding (the sums are grouped
 * differently).
 */
export const q4_kI8Tiles = quantTiles(Q4_K_I8_TILES);

/**
 * `q6_k_tiles(...)`: Q6_K rows as GGUF stores them (as q4_k_i8_tiles) against int16 activation codes
 * (quantize_x_i16). Equals q6_k_matvec up to f32 rounding.
 */
export const q6_kTiles = quantTiles(Q6_K_TILES);

/** `q5_k_tiles(...)`: Q5_K rows as GGUF stores them (as q6_k_tiles). Equals q5_k_matvec up to f32 rounding. */
export const q5_kTiles = quantTiles(Q5_K_TILES);

export type TileFormat = 'q8_0' | 'q4_0' | 'q4_0_i8' | 'q4_k_i8' | 'q5_k' | 'q6_k';

/** Bytes of one thread's prefill panel for rows of `blocks` blocks. */
export function tilePanelBytes(format: TileFormat, blocks: number): number {
  const layout = { q8_0: Q8_0_TILES, q4_0: Q4_0_TILES, q4_0_i8: Q4_0_I8_TILES, q4_k_i8: Q4_K_I8_TILES, q5_k: Q5_K_TILES, q6_k: Q6_K_TILES }[format];
  return CHUNK_GROUPS * blocks * panelBlockBytes(layout);
}
