import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { AssemblyError, assembleBody } from '../../src/wasm/assembler.ts';
import { s32, u32 } from '../../src/wasm/encoding.ts';
import { kernelModuleBytes, wasmSimdSupported } from '../../src/wasm/kernels.ts';
import { PROP } from '../helpers.ts';

/** Decodes LEB128 (signed when `signed`), the inverse the WebAssembly decoder applies. */
function readLeb(bytes: number[], signed: boolean): number {
  let result = 0n;
  let shift = 0n;
  for (const b of bytes) {
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      if (signed && (b & 0x40) !== 0) result -= 1n << shift;
      break;
    }
  }
  return Number(result);
}

describe('LEB128', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 })], PROP)('u32 round-trips', (n) => {
    expect(readLeb(u32(n), false)).toBe(n);
  });
  test.prop([fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })], PROP)('s32 round-trips', (n) => {
    expect(readLeb(s32(n), true)).toBe(n);
  });
  it('encodes the spec examples', () => {
    expect(u32(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(s32(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});

describe('assembleBody', () => {
  const fn = (body: string) => ({ name: 'f', params: [['$a', 'i32']] as const, locals: [['$v', 'v128']] as const, body });

  it('resolves locals and label depths and ends the function', () => {
    const code = assembleBody(fn(`
      block $out
        loop $again   ;; comment
          local.get $a
          br_if $out
          br $again
        end
      end`));
    // 1 local entry (count 1, v128); block; loop; local.get 0; br_if 1; br 0; end; end; end
    expect(code).toEqual([1, 1, 0x7b, 0x02, 0x40, 0x03, 0x40, 0x20, 0, 0x0d, 1, 0x0c, 0, 0x0b, 0x0b, 0x0b]);
  });

  it('rejects unknown instructions, locals and labels, and unbalanced blocks', () => {
    expect(() => assembleBody(fn('i32.frobnicate'))).toThrow(AssemblyError);
    expect(() => assembleBody(fn('local.get $nope'))).toThrow(AssemblyError);
    expect(() => assembleBody(fn('br $nowhere'))).toThrow(AssemblyError);
    expect(() => assembleBody(fn('block $b'))).toThrow(AssemblyError);
    expect(() => assembleBody(fn('end'))).toThrow(AssemblyError);
  });

  it('builds a kernel module this runtime validates', () => {
    expect(wasmSimdSupported()).toBe(true); // Node 20 has SIMD128 and shared memory
    expect(kernelModuleBytes().subarray(0, 4)).toEqual(new Uint8Array([0x00, 0x61, 0x73, 0x6d]));
  });
});
