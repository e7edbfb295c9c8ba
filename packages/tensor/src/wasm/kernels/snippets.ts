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

/** Byte offset of the 65536-entry f16 → f32 table in every kernel memory (region.ts fills it). */
export const F16_TABLE_OFFSET = 0;

/**
 * Pushes the f32 value of the little-endian f16 at byte address `addr` (a local), looked up in the
 * f32 table at F16_TABLE_OFFSET (as ggml does with `ggml_table_f32_f16` on CPUs without F16C): three
 * instructions instead of ~15 bit operations, and bit-identical to dtype.ts `f16ToF32`, which fills it.
 */
export const f16ToF32 = (addr: string): string => `
  local.get ${addr}
  i32.load16_u
  i32.const 2
  i32.shl
  f32.load offset=${F16_TABLE_OFFSET}`;
