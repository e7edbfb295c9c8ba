/**
 * reference.json of a fixture folder (format: fixtures/phi3-notes.md §2, DESIGN.md "File formats"):
 * parsed and checked, with raw little-endian f32 files read by shape.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { Phi3Error } from '../errors.ts';
import { readJsonFile } from '../json-file.ts';

/** A fixture folder is missing a file or its reference.json / .f32 files are malformed. */
export class FixtureError extends Phi3Error {}

/** One `cases[]` entry: a full forward over `inputIds` compared with `[T, V]` logits. */
export interface ReferenceCase {
  readonly name: string;
  /** null when the case is built from other inputs (e.g. images) by a variant hook */
  readonly inputIds: readonly number[] | null;
  readonly logitsFile: string;
  /** [T, V] */
  readonly shape: readonly [number, number];
  /** The entry as stored (variant hooks read their extra fields from here). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** One `generate[]` entry: greedy decoding of `maxNewTokens` tokens after `promptIds`. */
export interface ReferenceGenerate {
  readonly name: string;
  readonly promptIds: readonly number[] | null;
  readonly maxNewTokens: number;
  readonly expectedIds: readonly number[];
  /** Only targeted entries can fail verify; others are negative controls or recorded reference bugs. */
  readonly target: boolean;
  readonly targetReason: string | null;
  /** `[steps, V]` logits of every decoding step, when recorded */
  readonly stepLogitsFile: string | null;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** `hidden_states`: files[0] embeddings, files[i] output of layer i-1, files[L] final norm (HF convention). */
export interface ReferenceHiddenStates {
  readonly caseName: string;
  readonly files: readonly string[];
  /** [T, D] */
  readonly shape: readonly [number, number];
  readonly lastLayerOutputPrenorm: string | null;
}

export interface ReferenceFile {
  readonly dir: string;
  readonly model: string;
  readonly source: string | null;
  readonly cases: readonly ReferenceCase[];
  readonly generate: readonly ReferenceGenerate[];
  readonly hiddenStates: ReferenceHiddenStates | null;
  readonly raw: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;

/** Reads and validates `dir/reference.json`. Throws FixtureError naming the field. */
export function readReference(dir: string): ReferenceFile {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FixtureError(`${dir}: not a fixture folder`);
  const file = join(dir, 'reference.json');
  if (!existsSync(file)) throw new FixtureError(`${dir}: no reference.json`);
  const raw = readJsonFile(file, FixtureError);
  const fail = (field: string, why: string): never => {
    throw new FixtureError(`${file}: ${field} ${why}`);
  };
  if (!isObj(raw)) return fail('top level', 'is not an object');
  // Inputs may hold negative placeholders (phi3_v marks image positions with -1, -2, …); outputs may not.
  const ids = (v: unknown, field: string, min = 0): number[] => {
    if (!Array.isArray(v) || v.some((x) => !Number.isSafeInteger(x) || x < min)) return fail(field, 'must be a list of token ids');
    return v as number[];
  };
  const str = (v: unknown, field: string): string => (typeof v === 'string' ? v : fail(field, 'must be a string'));
  const shape2 = (v: unknown, field: string): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2 || v.some((d) => !Number.isSafeInteger(d) || d < 1)) return fail(field, 'must be [rows, cols]');
    return [v[0], v[1]];
  };
  const list = (v: unknown, field: string): Obj[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isObj)) return fail(field, 'must be a list of objects');
    return v as Obj[];
  };
  const cases = list(raw.cases, 'cases').map((c, i): ReferenceCase => {
    const at = `cases[${i}]`;
    const shape = shape2(c.shape, `${at}.shape`);
    const inputIds = c.input_ids === undefined ? null : ids(c.input_ids, `${at}.input_ids`, -Infinity);
    if (inputIds !== null && inputIds.length !== shape[0]) fail(`${at}.shape`, `has ${shape[0]} rows but input_ids has ${inputIds.length}`);
    return { name: str(c.name, `${at}.name`), inputIds, logitsFile: str(c.logits, `${at}.logits`), shape, raw: c };
  });
  const generate = list(raw.generate, 'generate').map((g, i): ReferenceGenerate => {
    const at = `generate[${i}]`;
    const expectedIds = ids(g.expected_ids, `${at}.expected_ids`);
    const maxNewTokens = g.max_new_tokens ?? expectedIds.length;
    if (maxNewTokens !== expectedIds.length) fail(`${at}.max_new_tokens`, `(${String(maxNewTokens)}) differs from the ${expectedIds.length} expected ids`);
    return {
      name: str(g.name, `${at}.name`),
      promptIds: g.prompt_ids === undefined ? null : ids(g.prompt_ids, `${at}.prompt_ids`, -Infinity),
      maxNewTokens: expectedIds.length,
      expectedIds,
      target: g.target === undefined ? true : g.target === true,
      targetReason: typeof g.target_reason === 'string' ? g.target_reason : null,
      stepLogitsFile: typeof g.step_logits === 'string' ? g.step_logits : null,
      raw: g,
    };
  });
  let hiddenStates: ReferenceHiddenStates | null = null;
  if (isObj(raw.hidden_states)) {
    const h = raw.hidden_states;
    const files = h.files;
    if (!Array.isArray(files) || files.length < 2 || files.some((f) => typeof f !== 'string')) fail('hidden_states.files', 'must be a list of file names');
    hiddenStates = {
      caseName: str(h.case, 'hidden_states.case'),
      files: files as string[],
      shape: shape2(h.shape, 'hidden_states.shape'),
      lastLayerOutputPrenorm: typeof h.last_layer_output_prenorm === 'string' ? h.last_layer_output_prenorm : null,
    };
  }
  return {
    dir,
    model: typeof raw.model === 'string' ? raw.model : dir,
    source: typeof raw.source === 'string' ? raw.source : null,
    cases,
    generate,
    hiddenStates,
    raw,
  };
}

/**
 * Reads a raw little-endian f32 file of the fixture, checking it holds exactly rows × cols values.
 * @returns [rows, cols] f32
 */
export function readF32File(dir: string, name: string, rows: number, cols: number): Float32Array {
  if (isAbsolute(name) || normalize(name).startsWith('..')) throw new FixtureError(`${dir}: file name "${name}" points outside the fixture`);
  const path = join(dir, name);
  if (!existsSync(path)) throw new FixtureError(`${path}: missing`);
  const bytes = statSync(path).size;
  if (bytes !== rows * cols * 4) throw new FixtureError(`${path}: ${bytes} bytes, expected ${rows} × ${cols} f32 = ${rows * cols * 4}`);
  const buf = readFileSync(path);
  const out = new Float32Array(rows * cols);
  new Uint8Array(out.buffer).set(buf); // raw little-endian f32, like every host Node runs on
  return out;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
