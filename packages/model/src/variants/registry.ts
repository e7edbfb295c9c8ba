/**
 * HF `model_type` → variant module. Each variant adds one line to VARIANTS (and its config type to
 * `ConfigByKind` in its own file); nothing else in the loader changes.
 */
import type { ConfigReader, ModelConfig, ModelKind } from '../config.ts';
import type { DecoderVariant } from '../decoder.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { VerifyHook } from '../verify/hooks.ts';
import type { WeightSource } from '../weights/source.ts';
import { phi3Variant } from './phi3.ts';
import { phi3VisionVariant } from './phi3-vision.ts';
import { phi3SmallVariant } from './phi3-small.ts';
import { phimoeVariant } from './phimoe.ts';

/** What a variant file exports for the registry. */
export interface VariantModule<C extends ModelConfig = ModelConfig> {
  readonly kind: C['kind'];
  /** HF `model_type` values this module handles. */
  readonly modelTypes: readonly string[];
  /** config.json → normalized config; throws ConfigError naming the field. */
  parseConfig(r: ConfigReader): C;
  /** Reads the weights (shape-checked) and returns the decoder functions. */
  build(config: C, weights: WeightSource): DecoderVariant;
  /** Variant-specific extras for `verify` (router decisions, image intermediates, image inputs). */
  readonly verifyHook?: VerifyHook;
}

const VARIANTS: readonly VariantModule[] = [
  phi3Variant,
  phi3VisionVariant,
  phi3SmallVariant,
  phimoeVariant,
];

/** The module for a config.json `model_type`; UnsupportedModelError naming it (and `where`) otherwise. */
export function variantForModelType(modelType: string, where: string): VariantModule {
  const hit = VARIANTS.find((v) => v.modelTypes.includes(modelType));
  if (hit === undefined) {
    const known = VARIANTS.flatMap((v) => v.modelTypes).join(', ');
    throw new UnsupportedModelError(`unsupported model type "${modelType}" in ${where} (supported: ${known})`);
  }
  return hit;
}

/** The module for a normalized config's kind (e.g. configs built from GGUF metadata). */
export function variantForKind(kind: ModelKind): VariantModule {
  const hit = VARIANTS.find((v) => v.kind === kind);
  if (hit === undefined) throw new UnsupportedModelError(`unsupported model kind "${kind}"`);
  return hit;
}
