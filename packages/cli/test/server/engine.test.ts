// Engine, in process on the default model: finish reasons and usage, an aborted generation returns
// null and leaves its slot's session empty (the next request on the reused session gives exactly
// what a fresh one gives).
import { DEFAULT_SAMPLING } from '@phi3/model';
import { argmax } from '@phi3/tensor';
import { describe, expect, test } from 'vitest';
import { encodePrompt, openModel } from '../../src/load-model.ts';
import { Engine, type GenerationJob } from '../../src/server/engine.ts';

const opened = openModel(undefined, { stream: process.stderr, enabled: false, interactive: false });
const promptIds = encodePrompt(opened, 'ROMEO:', { raw: true });
const job: GenerationJob = { promptIds, maxTokens: 8, sampling: { ...DEFAULT_SAMPLING, temperature: 1, seed: 5 }, stop: [], ignoreEos: false };

async function collect(engine: Engine, j: GenerationJob, signal = new AbortController().signal) {
  const steps: string[] = [];
  const result = await engine.run(j, signal, (text) => void steps.push(text));
  return { result, text: steps.join(''), steps: steps.length };
}

describe('Engine', () => {
  test('max_tokens → finish length with usage; an EOS token → finish stop (not printed, but counted)', async () => {
    const engine = new Engine(opened, { contextLength: 512, parallel: 1, queueSize: 0 });
    const free = await collect(engine, job);
    expect(free.result).toEqual({ finishReason: 'length', usage: { prompt_tokens: promptIds.length, completion_tokens: 8, total_tokens: promptIds.length + 8 } });

    // Declare the 3rd token greedy decoding produces an EOS id: generation must end there (or earlier, if it came before).
    const ids = greedyIds(3);
    const eosAt = ids.indexOf(ids[2]);
    const eosEngine = new Engine({ ...opened, eosIds: new Set([...opened.eosIds, ids[2]]) }, { contextLength: 512, parallel: 1, queueSize: 0 });
    const stopped = await collect(eosEngine, { ...job, sampling: { ...DEFAULT_SAMPLING, temperature: 0 } });
    expect(stopped.result).toMatchObject({ finishReason: 'stop', usage: { completion_tokens: eosAt + 1 } });
    // The text continues the prompt's: decode(prompt + generated) after decode(prompt), as `phi3 generate` prints it.
    const decode = (t: number[]): string => opened.tokenizer.decode(t, { skipSpecial: true });
    expect(stopped.text).toBe(decode([...promptIds, ...ids.slice(0, eosAt)]).slice(decode(promptIds).length));
  });

  test('an aborted generation returns null, counts as aborted, and leaves the reused session empty', async () => {
    const engine = new Engine(opened, { contextLength: 512, parallel: 1, queueSize: 0 });
    const first = await collect(engine, job);
    const controller = new AbortController();
    const aborted = await engine.run({ ...job, maxTokens: 100 }, controller.signal, () => {
      controller.abort(); // the client goes away after the first token
    });
    expect(aborted).toBeNull();
    expect(engine.stats).toMatchObject({ completed: 1, aborted: 1, busy: 0, queued: 0 });
    const again = await collect(engine, job); // same (only) slot, same session object
    expect(again).toEqual(first);
  });
});

/** The first n token ids greedy decoding of the prompt produces (a plain session, no generate loop). */
function greedyIds(n: number): number[] {
  const session = opened.createSession();
  const ids: number[] = [];
  let logits = session.feed(promptIds);
  for (let i = 0; i < n; i++) {
    ids.push(argmax(logits));
    logits = session.feed([ids[i]]);
  }
  return ids;
}
