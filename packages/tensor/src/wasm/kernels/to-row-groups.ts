// GGUF rows → row groups (quant/row-groups.ts) in wasm, for loading: the same rearrangement as the
// TypeScript toRowGroupsInto (the reference the tests compare with), ~10× faster because each block's
// codes move as one or two v128 instead of byte by byte, and it flags Inf/NaN scales on the way.
// Loading phi-3-mini Q4_0 spent 5 of its 6.5 s rearranging (and checking) in TypeScript.
import type { FunctionSource } from '../assembler.ts';
import { advance, countDown } from './snippets.ts';
import { codeBytes, ROW_GROUP, type RowGroupFormat } from '../../quant/row-groups.ts';

function toRowGroups(format: RowGroupFormat): FunctionSource {
  const codes = codeBytes(format);
  const block = 2 + codes;
  const rows = [...Array(ROW_GROUP).keys()];
  return {
    name: `${format}_to_row_groups`,
    params: [['$src', 'i32'], ['$dst', 'i32'], ['$groups', 'i32'], ['$blocks', 'i32'], ['$flag', 'i32']],
    locals: [['$rowBytes', 'i32'], ['$p', 'i32'], ['$b', 'i32'], ['$scale', 'i32'], ['$bad', 'i32']],
    body: `
  local.get $blocks
  i32.const ${block}
  i32.mul
  local.set $rowBytes
  loop $group
    local.get $src
    local.set $p                       ;; block b of the group's first row
    local.get $blocks
    local.set $b
    loop $block
      ${rows.map((i) => `
      local.get $dst
      local.get $p${i > 0 ? `
      local.get $rowBytes
      i32.const ${i}
      i32.mul
      i32.add` : ''}
      local.tee $src                   ;; (reused as a temporary: row ${i}'s block)
      i32.load16_u
      local.tee $scale
      i32.store16 offset=${2 * i}
      local.get $scale
      i32.const ${0x7c00}
      i32.and
      i32.const ${0x7c00}
      i32.eq                           ;; exponent bits all ones: Inf or NaN
      local.get $bad
      i32.or
      local.set $bad${[...Array(codes / 16).keys()].map((k) => `
      local.get $dst
      local.get $src
      v128.load offset=${2 + 16 * k}
      v128.store offset=${2 * ROW_GROUP + codes * i + 16 * k}`).join('')}`).join('')}
      ${advance('$dst', ROW_GROUP * block)}
      ${advance('$p', block)}
      ${countDown('$b', '$block')}
    end
    local.get $p
    local.get $rowBytes
    i32.const ${ROW_GROUP - 1}
    i32.mul
    i32.add
    local.set $src                     ;; the next group's first row
    ${countDown('$groups', '$group')}
  end
  local.get $flag
  local.get $bad
  i32.store`,
  };
}

/**
 * `q8_0_to_row_groups($src, $dst, $groups, $blocks, $flag)` and `q4_0_…`: byte offsets of 4·groups
 * GGUF rows of `blocks` blocks at src, and of their row-group storage at dst (non-overlapping);
 * groups ≥ 1, blocks ≥ 1. Stores at flag (i32) 1 if any scale was Inf/NaN, else 0.
 */
export const q8_0ToRowGroups = toRowGroups('q8_0');
export const q4_0ToRowGroups = toRowGroups('q4_0');
