import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVisionInputIds, checkImageTags, imagePositions, splitImageTags, withImageTags } from '../../src/vision/prompt.ts';
import { toyTokenizer } from './toy-tokenizer.ts';
import { ImageError } from '../../src/errors.ts';

const FIXTURE = join(import.meta.dirname, '../../../../fixtures/phi3v-tiny');
const reference = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as {
  cases: { name: string; prompt: string; num_img_tokens: number[]; input_ids: number[] }[];
};

describe('buildVisionInputIds', () => {
  it.each(reference.cases)('reproduces the processor input_ids of $name', (c) => {
    expect(buildVisionInputIds(c.prompt, toyTokenizer, c.num_img_tokens)).toEqual(c.input_ids);
  });

  it('puts a BOS after every image, even when the next chunk is empty', () => {
    expect(buildVisionInputIds('a<|image_1|>', toyTokenizer, [2])).toEqual([1, 3 + 97, -1, -1, 1]);
  });

  it('keeps tags out of order: image 2 placeholders first', () => {
    expect(buildVisionInputIds('<|image_2|><|image_1|>', toyTokenizer, [1, 2])).toEqual([1, -2, -2, 1, -1, 1]);
  });
});

describe('image tag checks', () => {
  it('splits at tags', () => {
    expect(splitImageTags('x<|image_1|>y<|image_12|>')).toEqual({ chunks: ['x', 'y', ''], imageIds: [1, 12] });
  });
  it.each([
    [[1], 0, /prompt has <\|image_1\|> but no image was given/],
    [[1, 1], 1, /repeats an image tag/],
    [[1, 3], 2, /without gaps/],
    [[1], 2, /2 image\(s\) given but the prompt has 1 image tag/],
    [[], 1, /1 image\(s\) given but the prompt has 0/],
  ] as const)('%j with %i images → ImageError', (ids, n, message) => {
    expect(() => checkImageTags(ids, n)).toThrow(ImageError);
    expect(() => checkImageTags(ids, n)).toThrow(message);
  });
  it('accepts 1..n in any order', () => {
    expect(() => checkImageTags([2, 1], 2)).not.toThrow();
  });
});

describe('withImageTags / imagePositions', () => {
  it('prepends missing tags and leaves tagged text alone', () => {
    expect(withImageTags('Describe.', 2)).toBe('<|image_1|>\n<|image_2|>\nDescribe.');
    expect(withImageTags('<|image_1|> hi', 1)).toBe('<|image_1|> hi');
    expect(withImageTags('hi', 0)).toBe('hi');
  });
  it('numbers tags after the images earlier in a conversation', () => {
    expect(withImageTags('And this?', 2, 1)).toBe('<|image_2|>\n<|image_3|>\nAnd this?');
  });
  it('finds negative ids in order', () => {
    expect(imagePositions([1, -1, -1, 5, -2])).toEqual([1, 2, 4]);
  });
});
