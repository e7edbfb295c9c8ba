// The instructions our kernels use, by their WebAssembly text-format (WAT) mnemonic, with the binary
// opcode and the kind of immediate that follows it. Core opcodes: WebAssembly spec §5.4; SIMD
// (prefix 0xfd + LEB128 sub-opcode): the fixed-width SIMD proposal's binary encoding table.

/** What follows an opcode in the binary. */
export type Immediate =
  | 'none'
  | 'local' // local index (named `$x` in our text)
  | 'label' // branch depth (named `$l` in our text)
  | 'block' // block type: we only emit empty blocks (0x40) that carry a `$label`
  | 'memarg' // alignment hint + byte offset (`offset=N`)
  | 'i32' // signed LEB128
  | 'f32' // 4 bytes IEEE-754
  | 'lane' // one byte lane index
  | 'lanes16'; // 16 byte lane indices (i8x16.shuffle)

/** [opcode bytes, immediate kind] */
type Op = readonly [readonly number[], Immediate];

const core = (byte: number, imm: Immediate = 'none'): Op => [[byte], imm];
const simd = (sub: number, imm: Immediate = 'none'): Op => [[0xfd, ...leb(sub)], imm];

function leb(n: number): number[] {
  return n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7];
}

export const OPCODES: Readonly<Record<string, Op>> = {
  // control
  block: core(0x02, 'block'), loop: core(0x03, 'block'), end: core(0x0b),
  br: core(0x0c, 'label'), br_if: core(0x0d, 'label'), return: core(0x0f),
  drop: core(0x1a), select: core(0x1b),
  // locals
  'local.get': core(0x20, 'local'), 'local.set': core(0x21, 'local'), 'local.tee': core(0x22, 'local'),
  // scalar memory
  'i32.load': core(0x28, 'memarg'), 'i32.load8_s': core(0x2c, 'memarg'), 'i32.load8_u': core(0x2d, 'memarg'), 'f32.load': core(0x2a, 'memarg'), 'i32.load16_u': core(0x2f, 'memarg'),
  'i32.store': core(0x36, 'memarg'), 'f32.store': core(0x38, 'memarg'), 'i32.store16': core(0x3b, 'memarg'),
  // scalar constants and arithmetic
  'i32.const': core(0x41, 'i32'), 'f32.const': core(0x43, 'f32'),
  'i32.eqz': core(0x45), 'i32.eq': core(0x46), 'i32.ne': core(0x47), 'i32.lt_u': core(0x49), 'i32.gt_s': core(0x4a), 'i32.ge_u': core(0x4f),
  'f32.le': core(0x5f),
  'i32.add': core(0x6a), 'i32.sub': core(0x6b), 'i32.mul': core(0x6c), 'i32.div_u': core(0x6e),
  'i32.and': core(0x71), 'i32.or': core(0x72), 'i32.shl': core(0x74), 'i32.shr_u': core(0x76),
  'f32.sqrt': core(0x91), 'f32.add': core(0x92), 'f32.mul': core(0x94), 'f32.div': core(0x95), 'f32.max': core(0x97),
  'f32.convert_i32_s': core(0xb2), 'i32.reinterpret_f32': core(0xbc), 'f32.reinterpret_i32': core(0xbe),
  // SIMD memory and lanes
  'v128.load': simd(0x00, 'memarg'), 'v128.load8x8_s': simd(0x01, 'memarg'), 'v128.load8x8_u': simd(0x02, 'memarg'), 'v128.load16x4_u': simd(0x04, 'memarg'),
  'v128.load32_splat': simd(0x09, 'memarg'), 'v128.store': simd(0x0b, 'memarg'),
  'i8x16.shuffle': simd(0x0d, 'lanes16'),
  'i8x16.splat': simd(0x0f), 'i16x8.splat': simd(0x10), 'i32x4.splat': simd(0x11), 'f32x4.splat': simd(0x13),
  'i16x8.eq': simd(0x2d), 'v128.any_true': simd(0x53),
  'i32x4.extract_lane': simd(0x1b, 'lane'), 'f32x4.extract_lane': simd(0x1f, 'lane'),
  // SIMD integer
  'v128.and': simd(0x4e), 'v128.or': simd(0x50),
  'i8x16.shl': simd(0x6b), 'i8x16.shr_u': simd(0x6d), 'i8x16.sub': simd(0x71),
  'i16x8.narrow_i32x4_s': simd(0x85),
  'i8x16.narrow_i16x8_s': simd(0x65), 'i32x4.extadd_pairwise_i16x8_s': simd(0x7e),
  'i16x8.shl': simd(0x8b), 'i16x8.shr_u': simd(0x8d), 'i16x8.add': simd(0x8e), 'i16x8.sub': simd(0x91),
  'i16x8.extend_low_i8x16_s': simd(0x87), 'i16x8.extend_high_i8x16_s': simd(0x88),
  'i16x8.extend_low_i8x16_u': simd(0x89), 'i16x8.extend_high_i8x16_u': simd(0x8a),
  'i32x4.extend_low_i16x8_s': simd(0xa7), 'i32x4.extend_high_i16x8_s': simd(0xa8), 'i32x4.extend_low_i16x8_u': simd(0xa9),
  'i32x4.shl': simd(0xab), 'i32x4.shr_s': simd(0xac),
  'i32x4.max_s': simd(0xb8), 'i32x4.add': simd(0xae), 'i32x4.sub': simd(0xb1), 'i32x4.mul': simd(0xb5), 'i32x4.dot_i16x8_s': simd(0xba),
  // SIMD float
  'f32x4.nearest': simd(0x6a), 'f32x4.abs': simd(0xe0),
  'f32x4.neg': simd(0xe1), 'f32x4.add': simd(0xe4), 'f32x4.sub': simd(0xe5), 'f32x4.mul': simd(0xe6), 'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8), 'f32x4.max': simd(0xe9), 'f32x4.pmin': simd(0xea), 'f32x4.pmax': simd(0xeb),
  'i32x4.trunc_sat_f32x4_s': simd(0xf8), 'f32x4.convert_i32x4_s': simd(0xfa),
  // relaxed SIMD (enabled at run time where the engine has it: ../relaxed.ts)
  'i16x8.relaxed_dot_i8x16_i7x16_s': simd(0x112),
};
