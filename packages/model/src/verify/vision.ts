/**
 * verify for phi3_v fixtures (format: fixtures/phi3v-notes.md §2): cases and generate entries that
 * name images are run with the image rows spliced in, and every intermediate file present is compared
 * — HD image (exact), pixel_values (exact, or by sha256 via pixel_values.summary.json), CLIP
 * features, merged features and projected embeddings (max |Δ| ≤ 1e-4) — plus argmax at text positions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { argmax } from '@phi3/tensor';
import type { Model } from '../model.ts';
import type { Phi3VConfig } from '../variants/phi3-vision.ts';
import { readImage } from '../vision/image.ts';
import { checkPixelSummary, type PixelValuesSummary } from '../vision/pixel-summary.ts';
import { prepareImages, spliceImageEmbeddings, visionDecoder, type PreparedImage } from '../vision/vision-prompt.ts';
import { maxAbsDiff } from './compare.ts';
import type { ExtraCheck, VerifyContext, VerifyHook } from './hooks.ts';
import { FixtureError, readF32File, type ReferenceCase } from './reference.ts';
import { greedyDecode } from './verify.ts';

/** CLIP features, merged features and embeddings: float32 vs the float64 reference (notes §3 suggest 1e-4). */
export const INTERMEDIATE_TOLERANCE = 1e-4;

/** Per loaded model: prepared images by file name, and the logits of image cases (for the text-argmax check). */
const state = new WeakMap<Model, { images: Map<string, PreparedImage>; logits: Map<string, { ids: readonly number[]; logits: Float32Array }> }>();

function stateOf(model: Model) {
  let s = state.get(model);
  if (s === undefined) state.set(model, (s = { images: new Map(), logits: new Map() }));
  return s;
}

/** The image file names a reference entry uses (`images`, or the older single `image`). */
function imagesOf(raw: Readonly<Record<string, unknown>>): string[] {
  if (Array.isArray(raw.images)) return raw.images.filter((x): x is string => typeof x === 'string');
  return typeof raw.image === 'string' ? [raw.image] : [];
}

/** Preprocesses and embeds fixture images once per model. */
function fixtureImages(ctx: VerifyContext, names: readonly string[]): PreparedImage[] {
  const cache = stateOf(ctx.model).images;
  const missing = names.filter((n) => !cache.has(n));
  const prepared = prepareImages(ctx.model, missing.map((n) => ({ label: n, image: readImage(join(ctx.dir, n)) })));
  prepared.forEach((p, i) => cache.set(missing[i], p));
  return names.map((n) => cache.get(n)!);
}

function requireIds(ctx: VerifyContext, ids: readonly number[] | null, what: string): readonly number[] {
  if (ids === null) throw new FixtureError(`${ctx.dir}: ${what} names images but has no input ids (the fixture has no tokenizer to build them)`);
  return ids;
}

/** Text-only entries run the default way; image placeholders without images are a fixture error. */
function withoutPlaceholders(ctx: VerifyContext, ids: readonly number[] | null, what: string): undefined {
  if (ids?.some((id) => id < 0)) throw new FixtureError(`${ctx.dir}: ${what} has image placeholder ids but names no images`);
  return undefined;
}

function caseLogits(ctx: VerifyContext, c: ReferenceCase): Float32Array | undefined {
  const names = imagesOf(c.raw);
  if (names.length === 0) return withoutPlaceholders(ctx, c.inputIds, `case ${c.name}`);
  const ids = requireIds(ctx, c.inputIds, `case ${c.name}`);
  const { tokens, embeddings } = spliceImageEmbeddings(ctx.model, ids, fixtureImages(ctx, names));
  const logits = ctx.model.forward(tokens, ctx.model.createCache(tokens.length), { allLogits: true, embeddings });
  stateOf(ctx.model).logits.set(c.name, { ids, logits });
  return logits;
}

/** Argmax agreement at text positions (id >= 0), where the reference margins are ≥ 0.01 (notes §3). */
function textArgmaxChecks(ctx: VerifyContext): ExtraCheck[] {
  const V = ctx.model.config.vocabSize;
  const out: ExtraCheck[] = [];
  for (const [name, { ids, logits }] of stateOf(ctx.model).logits) {
    const c = ctx.reference.cases.find((x) => x.name === name)!;
    const expected = readF32File(ctx.dir, c.logitsFile, c.shape[0], V);
    let text = 0;
    let agree = 0;
    ids.forEach((id, t) => {
      if (id < 0) return;
      text++;
      if (argmax(logits.subarray(t * V, (t + 1) * V)) === argmax(expected.subarray(t * V, (t + 1) * V))) agree++;
    });
    out.push({ name: `${name}: argmax at text positions`, ok: agree === text, target: true, detail: `${agree}/${text} text positions agree` });
  }
  return out;
}

/** One `preprocessed.json` image entry (file names of the intermediates, processor outputs). */
export interface PreprocessedEntry {
  readonly image: string;
  readonly hd_image?: string;
  readonly pixel_values?: string;
  readonly clip_features?: string;
  readonly hd_features?: string;
  readonly img_embeds?: string;
  readonly image_sizes?: number[][];
  readonly num_img_tokens?: number[];
}

function readJsonIfPresent<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new FixtureError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Compares one image's intermediates with whichever files exist in `dir` (names from `entry`, else
 * `<stem>.hd.png`, `<stem>.pixel_values.f32`, …).
 */
export function checkImageIntermediates(
  dir: string, cfg: Phi3VConfig, name: string, im: PreparedImage, entry: PreprocessedEntry | undefined, summary: PixelValuesSummary | undefined,
): ExtraCheck[] {
  const stem = basename(name, extname(name));
  const file = (key: keyof PreprocessedEntry, suffix: string): string => (entry?.[key] as string | undefined) ?? `${stem}${suffix}`;
  const checks: ExtraCheck[] = [];
  const add = (what: string, ok: boolean, detail: string) => checks.push({ name: `${name}: ${what}`, ok, target: true, detail });
  const p = im.processed;

  if (entry?.image_sizes !== undefined && entry.num_img_tokens !== undefined) {
    const want = `image_sizes [${entry.image_sizes[0].join(', ')}], ${entry.num_img_tokens[0]} tokens`;
    const got = `image_sizes [${p.imageSize.join(', ')}], ${p.numImgTokens} tokens`;
    add('processor sizes', want === got, got === want ? got : `${got}, expected ${want}`);
  }
  const hdFile = file('hd_image', '.hd.png');
  if (existsSync(join(dir, hdFile))) {
    const hd = readImage(join(dir, hdFile));
    let differing = 0;
    const sameSize = hd.width === p.hdImage.width && hd.height === p.hdImage.height;
    if (sameSize) for (let i = 0; i < hd.data.length; i++) if (hd.data[i] !== p.hdImage.data[i]) differing++;
    add('HD image', sameSize && differing === 0, sameSize ? `${differing} of ${hd.data.length} bytes differ (exact required)` : `size ${p.hdImage.width}x${p.hdImage.height}, expected ${hd.width}x${hd.height}`);
  }
  const crops = cfg.imageProcessor.numCrops + 1;
  const cropLen = p.pixelValues.length / crops;
  const pvFile = file('pixel_values', '.pixel_values.f32');
  if (existsSync(join(dir, pvFile))) {
    const want = readF32File(dir, pvFile, crops, cropLen);
    let differing = 0;
    for (let i = 0; i < want.length; i++) if (want[i] !== p.pixelValues[i]) differing++;
    add('pixel_values', differing === 0, `${differing} values differ, max |Δ| ${maxAbsDiff(p.pixelValues, want)} (bit-exact required)`);
  } else if (summary !== undefined) {
    const r = checkPixelSummary(p.pixelValues, summary);
    add('pixel_values (sha256)', r.bitExact, r.bitExact ? 'every crop bit-identical' : `crops ${r.mismatchedCrops.join(', ')} differ; max |Δ| at samples ${r.maxSampleDiff}`);
  } else {
    checks.push({ name: `${name}: pixel_values`, ok: true, target: false, detail: `not checked (no ${pvFile} and no pixel_values.summary.json entry)` });
  }
  const C = cfg.vision.clip.hiddenSize;
  const D = cfg.hiddenSize;
  const tensors: Array<[string, keyof PreprocessedEntry, string, Float32Array, number, number]> = [
    ['CLIP features', 'clip_features', '.clip_features.f32', im.embedding.clipFeatures, im.embedding.clipFeatures.length / C, C],
    ['merged features', 'hd_features', '.hd_features.f32', im.embedding.hdFeatures, p.numImgTokens, 4 * C],
    ['image embeddings', 'img_embeds', '.img_embeds.f32', im.embedding.imgEmbeds, p.numImgTokens, D],
  ];
  for (const [what, key, suffix, actual, rows, cols] of tensors) {
    const f = file(key, suffix);
    if (!existsSync(join(dir, f))) continue;
    const diff = maxAbsDiff(actual, readF32File(dir, f, rows, cols));
    add(what, diff <= INTERMEDIATE_TOLERANCE, `max |Δ| ${diff.toExponential(2)} (≤ ${INTERMEDIATE_TOLERANCE})`);
  }
  return checks;
}

async function extraChecks(ctx: VerifyContext): Promise<ExtraCheck[]> {
  const names = [...new Set(ctx.reference.cases.flatMap((c) => imagesOf(c.raw)))];
  const pre = readJsonIfPresent<{ images?: PreprocessedEntry[] }>(join(ctx.dir, 'preprocessed.json'));
  const summaries = readJsonIfPresent<{ images?: PixelValuesSummary[] }>(join(ctx.dir, 'pixel_values.summary.json'));
  const images = fixtureImages(ctx, names);
  const checks = names.flatMap((name, i) =>
    checkImageIntermediates(ctx.dir, visionDecoder(ctx.model).config, name, images[i], pre?.images?.find((e) => e.image === name), summaries?.images?.find((s) => s.image === name)),
  );
  return [...checks, ...textArgmaxChecks(ctx)];
}

/** The phi3_v hook plugged into `verifyFixture` (variants/phi3-vision.ts sets it). */
export const phi3VisionVerifyHook: VerifyHook = {
  caseLogits,
  generate(ctx, g) {
    const caseName = typeof g.raw.case === 'string' ? g.raw.case : null;
    const c = ctx.reference.cases.find((x) => x.name === caseName);
    const names = c === undefined ? imagesOf(g.raw) : imagesOf(c.raw);
    if (names.length === 0) return withoutPlaceholders(ctx, g.promptIds, `generate entry ${g.name}`);
    const ids = requireIds(ctx, g.promptIds, `generate entry ${g.name}`);
    const { tokens, embeddings } = spliceImageEmbeddings(ctx.model, ids, fixtureImages(ctx, names));
    return greedyDecode(ctx.model, tokens, g.maxNewTokens, { embeddings });
  },
  extraChecks,
};
