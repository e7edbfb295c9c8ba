// K-quant blocks built by hand from ggml's struct description, with expected values worked out on
// paper: they pin down which sub-block gets which scale, the nibble order and the high-bit layout.
import { describe, expect, it } from 'vitest';
import { Q4_K } from '../../src/quant/q4_k.ts';
import { Q5_K } from '../../src/quant/q5_k.ts';
import { Q6_K } from '../../src/quant/q6_k.ts';
import type { BlockFormat } from '../../src/quant/format.ts';

function decode(format: BlockFormat, block: Uint8Array): Float32Array {
  const out = new Float32Array(format.blockSize);
  format.dequantizeRowInto(out, 0, block, 0, format.blockSize);
  return out;
}

// Sub-block scales sc = [1, 2, 3, 4, 17, 33, 50, 63] and mins m = [0, 5, 10, 63, 20, 31, 47, 16], packed
// by hand into the 12 `scales` bytes:
//   bytes 0..3  = sc[j] | (sc[j+4] >> 4) << 6 = 1|64, 2|128, 3|192, 4|192
//   bytes 4..7  = m[j]  | (m[j+4] >> 4) << 6  = 0|64, 5|64, 10|128, 63|64
//   bytes 8..11 = (sc[j+4] & 15) | (m[j+4] & 15) << 4 = 1|64, 1|240, 2|240, 15|0
const SC = [1, 2, 3, 4, 17, 33, 50, 63];
const M = [0, 5, 10, 63, 20, 31, 47, 16];
const PACKED_SCALES = [65, 130, 195, 196, 64, 69, 138, 127, 65, 241, 242, 15];

/** The 128 nibble bytes: in each 32-byte group, byte l = (15 − l%16) << 4 | l%16. */
function nibbleBytes(): number[] {
  return Array.from({ length: 128 }, (_, k) => ((15 - (k % 16)) << 4) | k % 16);
}

describe('Q4_K hand-built block', () => {
  // d = 1 (f16 0x3c00), dmin = 0.5 (f16 0x3800)
  const block = Uint8Array.from([0x00, 0x3c, 0x00, 0x38, ...PACKED_SCALES, ...nibbleBytes()]);
  const y = decode(Q4_K, block);

  it('decodes the worked examples', () => {
    expect(y[0]).toBe(0); // sub-block 0: 1·1·0 − 0.5·0
    expect(y[1]).toBe(1); // 1·1·1 − 0
    expect(y[33]).toBe(25.5); // sub-block 1 (high nibble of byte 1 = 14): 2·14 − 0.5·5
    expect(y[133]).toBe(75); // sub-block 4 (low nibble of byte 64+5 = 5): 17·5 − 0.5·20
    expect(y[224]).toBe(937); // sub-block 7 (high nibble of byte 96 = 15): 63·15 − 0.5·16
    expect(y[255]).toBe(-8); // sub-block 7, code 0: −0.5·16
  });

  it('every element follows d·sc[s]·q − dmin·m[s]', () => {
    for (let i = 0; i < 256; i++) {
      const s = i >> 5;
      const q = s % 2 === 0 ? i % 16 : 15 - (i % 16);
      expect(y[i]).toBe(SC[s] * q - 0.5 * M[s]);
    }
  });
});

describe('Q5_K hand-built block', () => {
  // Same scales and nibbles; qh[l] = 0xa5 sets the 5th bit for sub-blocks 0, 2, 5 and 7.
  const block = Uint8Array.from([0x00, 0x3c, 0x00, 0x38, ...PACKED_SCALES, ...new Array(32).fill(0xa5), ...nibbleBytes()]);
  const y = decode(Q5_K, block);

  it('decodes the worked examples', () => {
    expect(y[0]).toBe(16); // sub-block 0 with the 5th bit: 1·16
    expect(y[33]).toBe(25.5); // sub-block 1, no 5th bit: 2·14 − 2.5
    expect(y[133]).toBe(75); // sub-block 4, no 5th bit
    expect(y[165]).toBe(842.5); // sub-block 5 (high nibble 10, + 16): 33·26 − 0.5·31
    expect(y[255]).toBe(1000); // sub-block 7 (code 0 + 16): 63·16 − 8
  });

  it('every element follows d·sc[s]·(q + 16·bit) − dmin·m[s]', () => {
    for (let i = 0; i < 256; i++) {
      const s = i >> 5;
      const q = (s % 2 === 0 ? i % 16 : 15 - (i % 16)) + ((0xa5 >> s) & 1) * 16;
      expect(y[i]).toBe(SC[s] * q - 0.5 * M[s]);
    }
  });
});

describe('Q6_K hand-built block', () => {
  // d = 0.5; scales[s] = s − 8; all codes 0 (value d·sc·(0 − 32)) except the bytes set below.
  const ql = new Uint8Array(128);
  const qh = new Uint8Array(64);
  ql[0] = 0x21; // element 0 low nibble 1, element 64 high nibble 2
  qh[0] = 0xe4; // bit pairs 0,1,2,3 → elements 0, 32, 64, 96 get high bits 0, 1, 2, 3
  ql[64 + 3] = 0xf0; // second half: element 131 low nibble 0, element 195 high nibble 15
  qh[32 + 3] = 0x03; // element 131 high bits 3; element 195 high bits 0
  const scales = Array.from({ length: 16 }, (_, s) => (s - 8) & 0xff);
  const block = Uint8Array.from([...ql, ...qh, ...scales, 0x00, 0x38]);
  const y = decode(Q6_K, block);

  it('decodes the worked examples', () => {
    expect(y[0]).toBe(124); // q = 1: 0.5·(−8)·(1 − 32)
    expect(y[32]).toBe(48); // q = 16: 0.5·(−6)·(16 − 32)
    expect(y[64]).toBe(-4); // q = 2 + 32: 0.5·(−4)·(34 − 32)
    expect(y[96]).toBe(-16); // q = 48: 0.5·(−2)·(48 − 32)
    expect(y[131]).toBe(0); // q = 48 but scale[8] = 0
    expect(y[195]).toBe(-34); // q = 15: 0.5·4·(15 − 32)
  });

  it('all other elements are d·sc[s]·(−32)', () => {
    const special = new Set([0, 32, 64, 96, 131, 195]);
    for (let i = 0; i < 256; i++) if (!special.has(i)) expect(y[i]).toBe(0.5 * ((i >> 4) - 8) * -32);
  });
});
