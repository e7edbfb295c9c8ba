import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, readImage, sniffImageFormat, transposeImage } from '../../src/vision/image.ts';
import { ImageError } from '../../src/errors.ts';

function rgbaPng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set(pixel(x, y), (y * width + x) * 4);
  return PNG.sync.write(png);
}

/** CRC-32 of PNG chunks (ISO 3309), for hand-built chunks. */
function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ -1) >>> 0;
}

/** Inserts a chunk right after IHDR (offset 33). */
function withChunk(png: Buffer, type: string, data: number[]): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  Buffer.from(data).copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

describe('decodeImage', () => {
  it('ignores a tRNS colour key like PIL convert("RGB") (pngjs alone would zero those pixels)', () => {
    const png = new PNG({ width: 2, height: 1 });
    png.data.set([10, 20, 30, 255, 40, 50, 60, 255]);
    const rgb = PNG.sync.write(png, { colorType: 2 });
    const keyed = withChunk(rgb, 'tRNS', [0, 10, 0, 20, 0, 30]); // 16-bit R, G, B of the transparent colour
    expect(PNG.sync.read(keyed).data[3]).toBe(0); // the key is really there
    expect(Array.from(decodeImage(keyed, 'k.png').data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('keeps the high byte of 16-bit colour PNGs (Pillow unpacks RGB;16B so)', () => {
    const png = new PNG({ width: 2, height: 1, bitDepth: 16 });
    (png as unknown as { data: Uint16Array }).data = new Uint16Array([0x1234, 0xff00, 0x80ff, 65535, 0x0100, 0x00ff, 0x7f80, 65535]);
    const bytes = PNG.sync.write(png, { bitDepth: 16, colorType: 2, inputColorType: 6 });
    expect(Array.from(decodeImage(bytes, 'd.png').data)).toEqual([0x12, 0xff, 0x80, 0x01, 0x00, 0x7f]);
  });


  it('decodes an RGBA PNG to RGB and drops alpha like PIL convert("RGB")', () => {
    const bytes = rgbaPng(3, 2, (x, y) => [x * 50, y * 100, 7, x === 0 ? 0 : 128]);
    const img = decodeImage(bytes, 'a.png');
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from(img.data)).toEqual([0, 0, 7, 50, 0, 7, 100, 0, 7, 0, 100, 7, 50, 100, 7, 100, 100, 7]);
  });

  it('decodes 8-bit grayscale by replicating the channel', () => {
    const png = new PNG({ width: 2, height: 1, colorType: 0, inputColorType: 6, bitDepth: 8 });
    png.data.set([10, 10, 10, 255, 200, 200, 200, 255]);
    const img = decodeImage(PNG.sync.write(png, { colorType: 0, inputColorType: 6 }), 'g.png');
    expect(Array.from(img.data)).toEqual([10, 10, 10, 200, 200, 200]);
  });

  it('decodes a JPEG (jpeg-js) close to the encoded colours', () => {
    const width = 16;
    const height = 8;
    const data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) data.set([200, 40, 90, 255], i * 4);
    const bytes = jpeg.encode({ width, height, data }, 95).data;
    const img = decodeImage(bytes, 'c.jpg');
    expect([img.width, img.height]).toEqual([width, height]);
    for (let i = 0; i < width * height; i++) {
      expect(Math.abs(img.data[i * 3] - 200)).toBeLessThanOrEqual(4);
      expect(Math.abs(img.data[i * 3 + 1] - 40)).toBeLessThanOrEqual(4);
      expect(Math.abs(img.data[i * 3 + 2] - 90)).toBeLessThanOrEqual(4);
    }
  });

  it('names unsupported formats in a one-line ImageError', () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1');
    expect(sniffImageFormat(gif)).toBe('gif');
    expect(() => decodeImage(gif, 'x.gif')).toThrow(new ImageError('x.gif: unsupported image format GIF (only PNG and JPEG are supported)'));
    expect(() => decodeImage(Buffer.from('hello world'), 'x.txt')).toThrow(/x\.txt: not a PNG or JPEG image/);
  });

  it('reports corrupt data and absurd sizes as ImageError', () => {
    const good = rgbaPng(4, 4, () => [1, 2, 3, 255]);
    expect(() => decodeImage(good.subarray(0, 60), 't.png')).toThrow(ImageError);
    const huge = Buffer.from(good);
    huge.writeUInt32BE(100000, 16);
    huge.writeUInt32BE(100000, 20);
    expect(() => decodeImage(huge, 'h.png')).toThrow(/h\.png: PNG size 100000x100000 is out of range/);
    expect(() => decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]), 'j.jpg')).toThrow(/j\.jpg: corrupt or unsupported JPEG/);
  });
});

describe('readImage', () => {
  it('reads a file from disk and fails with the path when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi3v-img-'));
    const path = join(dir, 'p.png');
    writeFileSync(path, rgbaPng(2, 2, () => [9, 8, 7, 255]));
    expect(readImage(path).data.every((v, i) => v === [9, 8, 7][i % 3])).toBe(true);
    expect(() => readImage(join(dir, 'nope.png'))).toThrow(new ImageError(`${join(dir, 'nope.png')}: cannot read image (ENOENT)`));
  });
});

describe('transposeImage', () => {
  it('swaps x and y and is its own inverse', () => {
    const img = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i) };
    const t = transposeImage(img);
    expect([t.width, t.height]).toEqual([2, 3]);
    expect(Array.from(t.data.subarray(3, 6))).toEqual([9, 10, 11]); // t[0][1] = img[1][0]
    expect(transposeImage(t)).toEqual(img);
  });
});
