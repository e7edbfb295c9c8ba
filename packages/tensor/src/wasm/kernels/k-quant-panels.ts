// Q4_K prefill panels (quant-tiles.ts): ggml `block_q4_K` rows, as GGUF stores them, unpacked one
// 32-element sub-block of four rows at a time into what the tiles read: the four rows' d·sc and
// dmin·m / 8 as f32 (the 6-bit scales and mins unpacked as ggml's `get_scale_min_k4` does), then their
// nibbles word-interleaved (one v128 holds the same 4 codes of the four rows).
import { ROW_GROUP } from '../../quant/row-groups.ts';
import { advance, advanceBy, countDown, f16ToF32, transposeStore } from './snippets.ts';

/** Panel bytes of one sub-block of four rows: d·sc ×4 and dmin·m / 8 ×4 (f32), then 8 word vectors. */
export const K_PANEL_BLOCK_BYTES = 32 + 8 * 16;

/** Pushes the 6-bit scale (or min) of sub-block s of the Q4_K super-block at local q (ggml `get_scale_min_k4`). */
function kScaleOrMin(q: string, s: number, min: boolean): string {
  const byte = (at: number): string => `
          local.get ${q}
          i32.load8_u offset=${at}`;
  if (s < 4) return `${byte(min ? 8 + s : 4 + s)}
          i32.const 63
          i32.and`;
  return `${byte(8 + s)}${min ? `
          i32.const 4
          i32.shr_u` : `
          i32.const 15
          i32.and`}${byte(min ? 4 + s : s)}
          i32.const 6
          i32.shr_u
          i32.const 4
          i32.shl
          i32.or`;
}

/**
 * The prologue of a Q4_K chunk: its n groups of four GGUF rows ($rowBytes apart, from $w) unpacked
 * into the panel at $panel one sub-block at a time: the four rows' d·sc and dmin·m / 8 as f32, then
 * their nibbles word-interleaved (sub-block s: the low or high nibbles of bytes 32⌊s/2⌋ … + 31 of the
 * codes). Uses i32 locals $w, $panel, $n, $blocks (sub-blocks per row), $rowBytes, $pg, $gi, $pd, $b,
 * $q0 … $q3; f32 $dk0 … $dk3, $mk0 … $mk3; v128 $r0 … $r3, $t01, $t23, $lowNibble (splat 0x0f).
 */
export function widenKQuantChunk(): string {
  const rows = [...Array(ROW_GROUP).keys()];
  const subBlock = (s: number): string => `${rows.map((r) => `
          local.get $pd${kScaleOrMin(`$q${r}`, s, false)}
          f32.convert_i32_s
          local.get $dk${r}
          f32.mul
          f32.store offset=${4 * r}
          local.get $pd${kScaleOrMin(`$q${r}`, s, true)}
          f32.convert_i32_s
          local.get $mk${r}
          f32.mul
          f32.store offset=${16 + 4 * r}`).join('')}${[0, 1].map((h) => `${rows.map((r) => `
          local.get $q${r}
          v128.load offset=${16 + 32 * (s >> 1) + 16 * h}${s % 2 === 0 ? `
          local.get $lowNibble
          v128.and` : `
          i32.const 4
          i8x16.shr_u`}
          local.set $r${r}`).join('')}${transposeStore('$pd', 32 + 64 * h)}`).join('')}
          ${advance('$pd', K_PANEL_BLOCK_BYTES)}`;
  return `
      local.get $w
      local.set $pg
      local.get $panel
      local.set $pd
      local.get $n
      local.set $gi
      loop $widenGroups${rows.map((r) => `
        local.get $pg${r === 0 ? '' : `
        local.get $rowBytes
        i32.const ${r}
        i32.mul
        i32.add`}
        local.set $q${r}`).join('')}
        local.get $blocks
        i32.const 3
        i32.shr_u
        local.set $b                   ;; super-blocks
        loop $widenSuper${rows.map((r) => `${f16ToF32(`$q${r}`, 0)}
          local.set $dk${r}${f16ToF32(`$q${r}`, 2)}
          f32.const 0.125
          f32.mul
          local.set $mk${r}              ;; dmin / 8: the sums are 8 Σ q_x`).join('')}${[...Array(8).keys()].map(subBlock).join('')}${rows.map((r) => `
          ${advance(`$q${r}`, 144)}`).join('')}
          ${countDown('$b', '$widenSuper')}
        end
        ${advanceBy('$pg', '$rowBytes', 2)}
        ${countDown('$gi', '$widenGroups')}
      end`;
}
