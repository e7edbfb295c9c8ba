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

/** Rows of W per chunk in the prefill kernels: small enough that a chunk stays in L2 while every token group passes over it. */
export const CHUNK_ROWS = 16;

/**
 * The loop nest shared by the prefill (matmul) kernels: W's rows in chunks of CHUNK_ROWS; within a
 * chunk, four tokens per pass (`fourTokens`), then the remaining tokens % 4 one per pass (`oneToken`);
 * then $w advances by n rows of `rowBytes` bytes and $y by n floats. Uses locals $rows, $n, $t,
 * $tokens, $w, $y (i32); `fourTokens` / `oneToken` read $n and $t and must leave them unchanged.
 */
export const rowChunksOverTokens = (fourTokens: string, oneToken: string, rowBytes: string): string => `
  block $done
    loop $chunks
      local.get $rows
      i32.eqz
      br_if $done
      local.get $rows
      i32.const ${CHUNK_ROWS}
      local.get $rows
      i32.const ${CHUNK_ROWS}
      i32.lt_u
      select
      local.set $n                     ;; n = min(rows, ${CHUNK_ROWS})
      i32.const 0
      local.set $t
      block $groupsDone
        loop $groups                   ;; four tokens per pass over the chunk
          local.get $tokens
          local.get $t
          i32.sub
          i32.const 4
          i32.lt_u
          br_if $groupsDone
          ${fourTokens}
          local.get $t
          i32.const 4
          i32.add
          local.set $t
          br $groups
        end
      end
      block $tailDone
        loop $tail                     ;; the last tokens % 4, one per pass
          local.get $t
          local.get $tokens
          i32.ge_u
          br_if $tailDone
          ${oneToken}
          local.get $t
          i32.const 1
          i32.add
          local.set $t
          br $tail
        end
      end
      local.get $w
      local.get $n
      local.get ${rowBytes}
      i32.mul
      i32.add
      local.set $w
      local.get $y
      local.get $n
      i32.const 2
      i32.shl
      i32.add
      local.set $y
      local.get $rows
      local.get $n
      i32.sub
      local.set $rows
      br $chunks
    end
  end`;

/**
 * Pushes the byte address of Y[$t + k, chunk row $i + r] (row-major Y, $yStride floats per token) —
 * where the prefill kernels store each finished dot product. Uses locals $y, $i, $t, $yStride.
 */
export const outputAddress = (k: number, r = 0): string => `
      local.get $y
      local.get $i${r === 0 ? '' : `
      i32.const ${r}
      i32.add`}
      i32.const 2
      i32.shl
      i32.add
      local.get $t
      i32.const ${k}
      i32.add
      local.get $yStride
      i32.mul
      i32.const 2
      i32.shl
      i32.add                          ;; &Y[t + ${k}, chunk row i + ${r}]`;
