// Config parsing: defaults, LongRoPE aliases, and errors that name the offending field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigReader, readModelConfig, UnsupportedModelError } from '../src/index.ts';
import { parsePhi3Config } from '../src/variants/phi3.ts';
import { randomPhi3RawConfig } from './helpers/random-phi3.ts';

const parse = (raw: Record<string, unknown>) => parsePhi3Config(new ConfigReader(raw, 'config.json'));
const base = randomPhi3RawConfig({ seed: 1, originalMax: 32 });

describe('parsePhi3Config', () => {
  it('normalizes to camelCase with derived head dim and explicit defaults', () => {
    const c = parse({ ...base, num_key_value_heads: undefined, sliding_window: undefined, rope_theta: undefined, eos_token_id: [5, 7] });
    expect(c).toMatchObject({ kind: 'phi3', hiddenSize: 32, nHeads: 4, nKvHeads: 4, headDim: 8, slidingWindow: null, ropeTheta: 10000, eosTokenIds: [5, 7] });
    expect(c.ropeScaling!.shortFactor.length).toBe(4);
  });

  it('accepts the older "su" and "yarn" names for LongRoPE, as v4.47.1 does', () => {
    for (const type of ['su', 'yarn', 'longrope']) {
      expect(parse({ ...base, rope_scaling: { ...(base.rope_scaling as object), type } }).ropeScaling).not.toBeNull();
    }
  });

  const errors: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing hidden_size', { hidden_size: undefined }, /hidden_size is missing/],
    ['heads not dividing hidden', { num_attention_heads: 5 }, /num_attention_heads \(5\) must divide hidden_size/],
    ['kv heads not dividing heads', { num_key_value_heads: 3 }, /num_key_value_heads \(3\) must divide/],
    ['a wrong factor count', { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1, 1, 1, 1] } }, /rope_scaling.short_factor has 1 entries, expected 4/],
    ['an unknown rope type', { rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling.type "linear" is not supported/],
    ['an extra rope key', { rope_scaling: { ...(base.rope_scaling as object), factor: 2 } }, /rope_scaling.factor is not a known LongRoPE key/],
    ['a non-silu activation', { hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    ['a string where a number belongs', { vocab_size: '64' }, /vocab_size must be a finite number \(got "64"\)/],
    ['a zero eps', { rms_norm_eps: 0 }, /rms_norm_eps must be a positive number/],
    ['a partial rotary factor (Phi-4-mini style)', { partial_rotary_factor: 0.75 }, /partial_rotary_factor is 0.75; only full-head/],
  ];
  for (const [what, patch, message] of errors) {
    it(`rejects ${what} with a ConfigError naming the field`, () => {
      expect(() => parse({ ...base, ...patch })).toThrow(ConfigError);
      expect(() => parse({ ...base, ...patch })).toThrow(message);
    });
  }
});

describe('readModelConfig', () => {
  const folder = (config: string) => {
    const d = mkdtempSync(join(tmpdir(), 'phi3-cfg-'));
    writeFileSync(join(d, 'config.json'), config);
    return d;
  };

  it('maps model_type to a variant and rejects unknown ones with UnsupportedModelError', () => {
    expect(readModelConfig(folder(JSON.stringify(base))).config.kind).toBe('phi3');
    expect(() => readModelConfig(folder(JSON.stringify({ ...base, model_type: 'gpt2' })))).toThrow(UnsupportedModelError);
    expect(() => readModelConfig(folder(JSON.stringify({ ...base, model_type: 'gpt2' })))).toThrow(/unsupported model type "gpt2"/);
  });

  it('names the file for unreadable configs', () => {
    expect(() => readModelConfig(folder('{oops'))).toThrow(/config.json: not valid JSON/);
    expect(() => readModelConfig(folder('{}'))).toThrow(/config.json: model_type is missing/);
    expect(() => readModelConfig(mkdtempSync(join(tmpdir(), 'phi3-none-')))).toThrow(/no config.json/);
  });
});
