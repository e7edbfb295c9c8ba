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

describe('decodeImage', () => {
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
