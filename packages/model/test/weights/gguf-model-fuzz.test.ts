// Fuzzing the whole GGUF model path (header → config → WeightSource → decoder → forward) with a
// small real model file whose header bytes are corrupted: the outcome is a working model or a
// typed Phi3Error — never a RangeError, a hang or a huge allocation.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, readModelConfig } from '../../src/model.ts';
import type { Phi3Config } from '../../src/config.ts';
import { Phi3Error } from '../../src/errors.ts';
import { openSafetensorsFolder } from '../../src/weights/source.ts';
import { openGgufCheckpoint } from '../../src/weights/gguf-model.ts';
import { ggufModelMetadata, ggufModelTensors } from '../../src/weights/gguf-export.ts';
import { encodeGguf } from '../../src/weights/gguf-writer.ts';
import { parseGgufHeader } from '../../src/weights/gguf.ts';
import { ShapeError } from '@phi3/tensor';

const ROOT = join(import.meta.dirname, '../../../..');
const DIR = join(ROOT, 'fixtures/phi3-longrope-tiny'); // has rope factor tensors and every phi3 key

let tmp: string;
let base: Uint8Array;
let headerBytes: number;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'phi3-gguf-fuzz-'));
  const config = readModelConfig(DIR).config as Phi3Config;
  const source = openSafetensorsFolder(DIR);
  base = encodeGguf(ggufModelMetadata(config, 'fuzz', 'q8_0'), ggufModelTensors(config, source, 'q8_0'));
  source.close();
  headerBytes = parseGgufHeader(base).dataOffset;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Opens, builds and runs 3 tokens; returns normally or throws only typed errors. */
function loadAndRun(bytes: Uint8Array): void {
  const path = join(tmp, 'fuzz.gguf');
  writeFileSync(path, bytes);
  try {
    const { config, weights } = openGgufCheckpoint(path);
    const model = buildModel(config, weights);
    try {
      const ids = [1, 2, 3].map((i) => i % config.vocabSize);
      model.forward(ids, model.createCache(ids.length));
    } finally {
      model.close();
    }
  } catch (err) {
    if (!(err instanceof Phi3Error || err instanceof ShapeError)) throw err;
  }
}

describe('GGUF model loading under corrupted headers', () => {
  test('the unmodified file loads and runs', () => {
    expect(() => loadAndRun(base)).not.toThrow();
  });

  test.prop(
    [fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })],
    { seed: 77, numRuns: 150 },
  )('random header bytes', (edits) => {
    const bytes = base.slice();
    for (const [at, b] of edits) bytes[at % headerBytes] = b;
    loadAndRun(bytes);
  });

  test.prop([fc.nat(), fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 32 - 1)], { seed: 78, numRuns: 150 })(
    'absurd u32 values (counts, dims, ids, context lengths) anywhere in the header',
    (at, value) => {
      const bytes = base.slice();
      new DataView(bytes.buffer).setUint32(at % (headerBytes - 4), value, true);
      loadAndRun(bytes);
    },
  );
});
