/**
 * Typed errors of the model library. Every failure a user can cause (bad files, bad configs, bad
 * arguments, prompts past the context) is one of these, with a one-line message that names the
 * offending file, field or value. The CLI prints `error: <message>` and exits non-zero.
 */
export class Phi3Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** config.json / GGUF metadata is missing, malformed, or inconsistent. Names the field. */
export class ConfigError extends Phi3Error {}

/** model_type / architecture we do not implement. */
export class UnsupportedModelError extends Phi3Error {}

/** A weights file (safetensors, GGUF) is missing, truncated or corrupt. */
export class WeightsFormatError extends Phi3Error {}

/** A tokenizer file is missing or malformed, or a token id is out of range. */
export class TokenizerError extends Phi3Error {}

/** The prompt (plus requested tokens) does not fit the model's or cache's context. */
export class ContextLengthError extends Phi3Error {}

/** An image cannot be read or is in an unsupported format (vision models). */
export class ImageError extends Phi3Error {}

/** Invalid argument values passed to the library (sampling options, etc.). */
export class InvalidArgumentError extends Phi3Error {}
