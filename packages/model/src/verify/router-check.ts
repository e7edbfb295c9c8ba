/**
 * verify extra for mixture-of-experts fixtures: compares the routing decisions the model reports
 * through its taps (`router_experts`, `router_weights`, `router_logits`) with `router.json`
 * (format: fixtures/phi3-notes.md §2; written by the phimoe reference run):
 *
 *   { case, input_ids, layers: [{ layer, router_logits [T][E], selected_experts [T][2], routing_weights [T][2] }] }
 *
 * Expert ids must be equal; weights within the verify tolerance (they are softmax values in [0, 1]).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TapFn } from '../decoder.ts';
import type { ExtraCheck, VerifyContext } from './hooks.ts';
import { readJsonFile } from '../json-file.ts';
import { FixtureError } from './reference.ts';

/** One layer of router.json. */
export interface RouterLayerReference {
  readonly layer: number;
  /** [T][E] */
  readonly routerLogits: readonly (readonly number[])[];
  /** [T][K] */
  readonly selectedExperts: readonly (readonly number[])[];
  /** [T][K] */
  readonly routingWeights: readonly (readonly number[])[];
}

export interface RouterReference {
  readonly inputIds: readonly number[];
  readonly layers: readonly RouterLayerReference[];
}

/** Reads and validates `file` (router.json). Throws FixtureError naming the field. */
export function readRouterReference(file: string): RouterReference {
  const raw = readJsonFile(file, FixtureError);
  const fail = (field: string, why: string): never => {
    throw new FixtureError(`${file}: ${field} ${why}`);
  };
  const obj = (v: unknown, field: string) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, 'must be an object'));
  const matrix = (v: unknown, field: string, rows: number, int: boolean): number[][] => {
    const ok = (x: unknown) => (int ? Number.isSafeInteger(x) && (x as number) >= 0 : typeof x === 'number' && Number.isFinite(x));
    if (!Array.isArray(v) || v.length !== rows || v.some((r) => !Array.isArray(r) || r.length === 0 || !r.every(ok))) {
      return fail(field, `must be a list of ${rows} rows of ${int ? 'expert ids' : 'numbers'}`);
    }
    return v as number[][];
  };
  const top = obj(raw, 'top level');
  const ids = top.input_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => !Number.isSafeInteger(x) || x < 0)) return fail('input_ids', 'must be a non-empty list of token ids');
  const T = ids.length;
  if (!Array.isArray(top.layers)) return fail('layers', 'must be a list');
  const layers = top.layers.map((l, i): RouterLayerReference => {
    const o = obj(l, `layers[${i}]`);
    if (!Number.isSafeInteger(o.layer) || (o.layer as number) < 0) fail(`layers[${i}].layer`, 'must be a layer index');
    return {
      layer: o.layer as number,
      routerLogits: matrix(o.router_logits, `layers[${i}].router_logits`, T, false),
      selectedExperts: matrix(o.selected_experts, `layers[${i}].selected_experts`, T, true),
      routingWeights: matrix(o.routing_weights, `layers[${i}].routing_weights`, T, false),
    };
  });
  return { inputIds: ids as number[], layers };
}

/**
 * Runs router.json's input ids through the model (one full forward) with a tap on the router and
 * compares every decision. Returns no check when the fixture has no router.json.
 */
export function checkRouterDecisions(ctx: VerifyContext): ExtraCheck[] {
  const file = join(ctx.dir, 'router.json');
  if (!existsSync(file)) return [];
  const ref = readRouterReference(file);
  const taps = new Map<string, Float32Array>();
  const tap: TapFn = (name, layer, data) => {
    if (name.startsWith('router_')) taps.set(`${name}:${layer}`, data.slice());
  };
  ctx.model.forward(ref.inputIds, ctx.model.createCache(ref.inputIds.length), { tap });

  let decisions = 0;
  let agree = 0;
  let worstWeight = 0;
  let worstLogit = 0;
  const firstMismatches: string[] = [];
  for (const layer of ref.layers) {
    const experts = taps.get(`router_experts:${layer.layer}`);
    const weights = taps.get(`router_weights:${layer.layer}`);
    const logits = taps.get(`router_logits:${layer.layer}`);
    if (experts === undefined || weights === undefined || logits === undefined) {
      throw new FixtureError(`${file}: the model reports no routing for layer ${layer.layer}`);
    }
    const K = experts.length / ref.inputIds.length;
    const E = logits.length / ref.inputIds.length;
    layer.selectedExperts.forEach((want, t) => {
      if (want.length !== K || layer.routerLogits[t].length !== E) {
        throw new FixtureError(`${file}: layer ${layer.layer} token ${t} has ${want.length} experts / ${layer.routerLogits[t].length} logits, the model ${K} / ${E}`);
      }
      for (let k = 0; k < K; k++) {
        decisions++;
        const weightDiff = Math.abs(weights[t * K + k] - layer.routingWeights[t][k]);
        worstWeight = Math.max(worstWeight, weightDiff);
        if (experts[t * K + k] === want[k] && weightDiff <= ctx.tolerance) agree++;
        else if (firstMismatches.length < 3) firstMismatches.push(`layer ${layer.layer} token ${t} slot ${k}: expert ${experts[t * K + k]} (${weights[t * K + k].toFixed(4)}) vs ${want[k]} (${layer.routingWeights[t][k].toFixed(4)})`);
      }
      for (let e = 0; e < E; e++) worstLogit = Math.max(worstLogit, Math.abs(logits[t * E + e] - layer.routerLogits[t][e]));
    });
  }
  const ok = decisions > 0 && agree === decisions;
  const detail =
    `${agree}/${decisions} router decisions agree (${ref.layers.length} layers × ${ref.inputIds.length} tokens), ` +
    `max|Δweight| ${worstWeight.toExponential(2)}, max|Δrouter logit| ${worstLogit.toExponential(2)}` +
    (firstMismatches.length > 0 ? `; ${firstMismatches.join('; ')}` : '');
  return [{ name: 'router decisions (router.json)', ok, target: true, detail }];
}
