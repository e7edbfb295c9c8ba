/**
 * The seam through which variants add fixture checks to `verifyFixture` without rewriting it:
 * a variant module sets `verifyHook` (see variants/registry.ts).
 */
import type { Model } from '../model.ts';
import type { ReferenceCase, ReferenceFile, ReferenceGenerate } from './reference.ts';

/** What a hook gets: the fixture, its parsed reference.json and the loaded model. */
export interface VerifyContext {
  readonly dir: string;
  readonly reference: ReferenceFile;
  readonly model: Model;
  /** max |Δ| allowed (default 1e-3) */
  readonly tolerance: number;
}

/** Result of a variant-specific check (e.g. router decisions vs router.json). */
export interface ExtraCheck {
  readonly name: string;
  readonly ok: boolean;
  /** false = reported only, never fails verify */
  readonly target: boolean;
  /** one line for humans, e.g. "412/412 router decisions agree" */
  readonly detail: string;
}

/** Greedy decoding output: generated ids and the logits of each step ([V] f32 each). */
export interface GreedyResult {
  readonly ids: number[];
  readonly stepLogits: Float32Array[];
}

export interface VerifyHook {
  /**
   * Full-forward logits [T, V] f32 of a case needing more than `input_ids` (e.g. images);
   * return undefined to use the default (token ids through a fresh session).
   */
  caseLogits?(ctx: VerifyContext, c: ReferenceCase): Float32Array | undefined | Promise<Float32Array | undefined>;
  /**
   * Greedy decoding of a generate entry needing more than `prompt_ids`; undefined = default. Hooks can
   * call `greedyDecode(model, promptIds, n, { embeddings })` from verify/verify.ts.
   */
  generate?(ctx: VerifyContext, g: ReferenceGenerate): GreedyResult | undefined | Promise<GreedyResult | undefined>;
  /** Extra checks after the standard ones (router.json for phimoe, image intermediates for vision). */
  extraChecks?(ctx: VerifyContext): ExtraCheck[] | Promise<ExtraCheck[]>;
}
