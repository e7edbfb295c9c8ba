// Instruction sequences shared by several kernels (text spliced into kernel bodies).

/** Pushes the f32 sum of the four lanes of v128 local `acc` (lane order 0 + 1 + 2 + 3). */
export const horizontalSum = (acc: string): string => `
  local.get ${acc}
  f32x4.extract_lane 0
  local.get ${acc}
  f32x4.extract_lane 1
  f32.add
  local.get ${acc}
  f32x4.extract_lane 2
  f32.add
  local.get ${acc}
  f32x4.extract_lane 3
  f32.add`;

/**
 * Pushes the f32 value of the little-endian f16 at byte address `addr` (a local), looked up in the
 * 65536-entry f32 table at `table` (as ggml does with `ggml_table_f32_f16` on CPUs without F16C):
 * one load instead of ~15 bit operations, and bit-identical to dtype.ts `f16ToF32`, which fills it.
 */
export const f16ToF32 = (addr: string, table: string): string => `
  local.get ${table}
  local.get ${addr}
  i32.load16_u
  i32.const 2
  i32.shl
  i32.add
  f32.load`;
