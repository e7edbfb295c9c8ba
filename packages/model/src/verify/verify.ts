/**
 * verifyFixture: loads a fixture folder through the user-facing loader and compares every case and
 * generate entry with reference.json (DESIGN.md `phi3 verify`).
 */
import { argmax } from '@phi3/tensor';
import type { TapFn } from '../decoder.ts';
import { loadModel, type Model } from '../model.ts';
import { InferenceSession, type FeedOptions } from '../session.ts';
import { compareArgmax, maxAbsDiff } from './compare.ts';
import type { ExtraCheck, GreedyResult, VerifyContext } from './hooks.ts';
import { FixtureError, readF32File, readReference, type ReferenceCase, type ReferenceGenerate } from './reference.ts';
import type { Kernels } from '../weights/kernels.ts';

/** Rows whose reference top-2 margin is at most this are float ties; their argmax may differ. */
export const ARGMAX_MARGIN = 1e-3;
export const DEFAULT_TOLERANCE = 1e-3;

/**
 * The reference top-2 margin above which an argmax mismatch fails a case. When every logit is within
 * `tolerance`, the argmax can only flip where that margin is ≤ 2·tolerance, so a looser tolerance (a
 * quantized GGUF checked with `--tolerance`) widens the float-tie band accordingly.
 */
export function argmaxMargin(tolerance: number): number {
  return tolerance <= DEFAULT_TOLERANCE ? ARGMAX_MARGIN : 2 * tolerance;
}

export interface CaseReport {
  readonly name: string;
  readonly maxAbsDiff: number;
  /** fraction of positions whose argmax equals the reference's */
  readonly argmaxAgreement: number;
  readonly ok: boolean;
  /** positions with a different argmax although the reference margin > argmaxMargin(tolerance) */
  readonly decisiveArgmaxMismatches: readonly number[];
}

export interface GenerateReport {
  readonly name: string;
  readonly match: boolean;
  readonly expected: readonly number[];
  readonly actual: readonly number[];
  /** false: negative control / recorded reference bug, reported but never failed */
  readonly target: boolean;
  readonly targetReason: string | null;
  /** first step whose token differs, or null */
  readonly firstMismatch: number | null;
  /** max |Δ| of the step logits over the steps up to the first mismatch (null if not recorded) */
  readonly stepLogitsMaxAbsDiff: number | null;
}

export interface HiddenStateReport {
  readonly case: string;
  /** in forward order: embeddings, layer 0 … layer L-1 output, final norm */
  readonly layers: ReadonlyArray<{ readonly name: string; readonly maxAbsDiff: number }>;
  /** first entry above the tolerance, or null */
  readonly firstDivergingLayer: string | null;
}

export interface VerifyReport {
  readonly model: string;
  readonly ok: boolean;
  readonly tolerance: number;
  readonly cases: CaseReport[];
  readonly generate: GenerateReport[];
  readonly hiddenStates: HiddenStateReport | null;
  readonly extra: ExtraCheck[];
}

export interface VerifyOptions {
  /** max |Δlogit| allowed per case (default 1e-3) */
  readonly tolerance?: number;
  /** Weights to check instead of the fixture's own: a GGUF file (config and weights both read from it). */
  readonly weights?: string;
  /** Which matvec kernels run the model (weights/kernels.ts); default 'ts', the reference. */
  readonly kernels?: Kernels;
  /** Threads per matvec with the wasm kernels (default 1). */
  readonly threads?: number;
}

/** Verifies one fixture folder. Throws (typed) when the folder, config or weights are unusable. */
export async function verifyFixture(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const reference = readReference(dir);
  const model = loadModel(opts.weights ?? dir, { kernels: opts.kernels, threads: opts.threads }); // the user-facing loader: config.json + safetensors, or a GGUF file
  try {
    const ctx: VerifyContext = { dir, reference, model, tolerance };
    const hook = model.variant.verifyHook;
    const cases: CaseReport[] = [];
    let hiddenStates: HiddenStateReport | null = null;
    for (const c of reference.cases) {
      const expected = readF32File(dir, c.logitsFile, c.shape[0], c.shape[1]);
      const wantHidden = reference.hiddenStates?.caseName === c.name ? reference.hiddenStates : null;
      const taps = new Map<string, Float32Array>();
      const tap: TapFn = (name, layer, data) => taps.set(`${name}:${layer}`, data.slice());
      const actual = (await hook?.caseLogits?.(ctx, c)) ?? caseLogits(model, c, wantHidden ? tap : undefined);
      if (actual.length !== expected.length) throw new FixtureError(`${dir}: case ${c.name} has shape [${c.shape.join(', ')}] but the model gives ${actual.length} logits`);
      const diff = maxAbsDiff(actual, expected);
      const am = compareArgmax(actual, expected, c.shape[0], c.shape[1], argmaxMargin(tolerance));
      const ok = diff <= tolerance && am.decisiveMismatches.length === 0;
      cases.push({ name: c.name, maxAbsDiff: diff, argmaxAgreement: am.agreement, ok, decisiveArgmaxMismatches: am.decisiveMismatches });
      if (wantHidden && taps.size > 0) hiddenStates = compareHiddenStates(dir, model, wantHidden, taps, tolerance);
    }
    const generate: GenerateReport[] = [];
    for (const g of reference.generate) {
      const result = (await hook?.generate?.(ctx, g)) ?? greedyDecode(model, requirePrompt(dir, g), g.maxNewTokens);
      generate.push(generateReport(dir, g, result, model.config.vocabSize));
    }
    const extra = hook?.extraChecks ? await hook.extraChecks(ctx) : [];
    const ok = cases.every((c) => c.ok) && generate.every((g) => g.match || !g.target) && extra.every((e) => e.ok || !e.target);
    return { model: reference.model, ok, tolerance, cases, generate, hiddenStates, extra };
  } finally {
    model.close();
  }
}

/**
 * Greedy decoding through an InferenceSession (so the variant's LongRoPE policy applies): feed the
 * prompt, then feed back the argmax `n` times (no EOS stop, as the fixtures record).
 * @param promptOptions passed to the prompt's feed (e.g. vision embeddings)
 */
export function greedyDecode(model: Model, promptIds: readonly number[], n: number, promptOptions: FeedOptions = {}): GreedyResult {
  const session = new InferenceSession(model, { maxTokens: Math.min(model.config.maxPositionEmbeddings, promptIds.length + n) });
  const ids: number[] = [];
  const stepLogits: Float32Array[] = [];
  let logits = session.feed(promptIds, promptOptions);
  for (let step = 0; step < n; step++) {
    stepLogits.push(logits.slice());
    ids.push(argmax(logits));
    if (step + 1 < n) logits = session.feed([ids[step]]);
  }
  return { ids, stepLogits };
}

/** One full causal forward of a case's input ids. @returns [T, V] f32 */
function caseLogits(model: Model, c: ReferenceCase, tap: TapFn | undefined): Float32Array {
  if (c.inputIds === null) throw new FixtureError(`case ${c.name} has no input_ids and the ${model.config.kind} variant has no verify hook for it`);
  const cache = model.createCache(c.inputIds.length);
  return model.forward(c.inputIds, cache, { allLogits: true, tap });
}

function requirePrompt(dir: string, g: ReferenceGenerate): readonly number[] {
  if (g.promptIds === null) throw new FixtureError(`${dir}: generate entry ${g.name} has no prompt_ids`);
  return g.promptIds;
}

function generateReport(dir: string, g: ReferenceGenerate, r: GreedyResult, V: number): GenerateReport {
  const mismatch = g.expectedIds.findIndex((id, i) => r.ids[i] !== id);
  const firstMismatch = mismatch < 0 && r.ids.length === g.expectedIds.length ? null : mismatch < 0 ? r.ids.length : mismatch;
  let stepDiff: number | null = null;
  if (g.stepLogitsFile !== null) {
    const ref = readF32File(dir, g.stepLogitsFile, g.expectedIds.length, V);
    const steps = Math.min(r.stepLogits.length, firstMismatch === null ? g.expectedIds.length : firstMismatch + 1);
    stepDiff = 0;
    for (let s = 0; s < steps; s++) stepDiff = Math.max(stepDiff, maxAbsDiff(r.stepLogits[s], ref.subarray(s * V, (s + 1) * V)));
  }
  return {
    name: g.name, match: firstMismatch === null, expected: g.expectedIds, actual: r.ids,
    target: g.target, targetReason: g.targetReason, firstMismatch, stepLogitsMaxAbsDiff: stepDiff,
  };
}

/** Per-layer comparison with `hidden_states` (HF output_hidden_states convention, see reference.ts). */
function compareHiddenStates(
  dir: string, model: Model, h: NonNullable<ReturnType<typeof readReference>['hiddenStates']>, taps: Map<string, Float32Array>, tolerance: number,
): HiddenStateReport {
  const L = model.config.nLayers;
  if (h.files.length !== L + 1) throw new FixtureError(`${dir}: hidden_states.files has ${h.files.length} entries, expected ${L + 1} for ${L} layers`);
  const [T, D] = h.shape;
  const pairs: Array<[string, string, string]> = h.files.map((file, i) => {
    if (i === 0) return ['embeddings', file, 'embeddings:-1'];
    if (i < L) return [`layer ${i - 1}`, file, `layer_output:${i - 1}`];
    return ['final norm', file, `final_norm:${L}`];
  });
  if (h.lastLayerOutputPrenorm !== null) pairs.splice(L, 0, [`layer ${L - 1}`, h.lastLayerOutputPrenorm, `layer_output:${L - 1}`]);
  const layers = pairs.map(([name, file, key]) => {
    const actual = taps.get(key);
    if (actual === undefined || actual.length !== T * D) throw new FixtureError(`${dir}: no [${T}, ${D}] intermediate "${key}" to compare with ${file}`);
    return { name, maxAbsDiff: maxAbsDiff(actual, readF32File(dir, file, T, D)) };
  });
  return { case: h.caseName, layers, firstDivergingLayer: layers.find((l) => l.maxAbsDiff > tolerance)?.name ?? null };
}
