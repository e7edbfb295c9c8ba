/**
 * Test harness for `phi3 serve`: starts the real server (main.ts, `--port 0` on loopback) as a
 * child process, and computes what `phi3 generate` gives for the same prompt, seed and settings by
 * running the command's own code path in-process (openModel → encodePrompt → generate).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_SAMPLING, createContinuationStream, generate } from '@phi3/model';
import { encodePrompt, openModel, type OpenedModel } from '../../src/load-model.ts';
import { addWeightPlacementOptions, type WeightPlacementFlags } from '../../src/options.ts';
import { MAIN } from '../helpers/run-cli.ts';

export const DEFAULT_MODEL_ID = 'phi3-shakespeare-tiny';

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Everything the server printed on stderr so far. */
  stderr(): string;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * tsx's module loader. The server runs as `node --import <loader> main.ts`, not under the `tsx`
 * launcher: the launcher relays SIGTERM to its child and SIGKILLs it (exit 143) when the child's
 * event loop has not acknowledged the signal within 30 ms, which a generation running on a loaded
 * CI machine can exceed; the signal tests would then measure tsx, not the server's own shutdown.
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Spawns `phi3 serve --port 0 <args>` and resolves once it prints its URL. */
export function startServer(args: readonly string[] = []): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, 'serve', '--port', '0', ...args], {
    cwd: '/tmp', stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        resolve({
          url: match[1],
          stderr: () => stderr,
          alive: () => !exited,
          stop: () => {
            if (!exited) child.kill('SIGTERM');
            return exit;
          },
        });
      }
    });
    void exit.then((code) => reject(new Error(`phi3 serve exited with ${code} before listening:\n${stderr}`)));
  });
}

/** The settings a test sends to the server and to the reference path alike. */
export interface Settings {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
  readonly stop?: readonly string[];
}

let opened: OpenedModel | undefined;

/** The embedded default model with generate's and serve's default --dtype/--kernels/-t, loaded once per test file (no progress output). */
function defaultModel(): OpenedModel {
  const defaults = addWeightPlacementOptions(new Command()).parse([], { from: 'user' }).opts<WeightPlacementFlags>();
  opened ??= openModel(undefined, { stream: process.stderr, enabled: false, interactive: false }, defaults);
  return opened;
}

/**
 * What `phi3 generate [--chat|--raw] -p PROMPT -n N --temp T --top-p P -s SEED [--stop S]…` prints,
 * computed through the command's own functions; also the token count and stop reason.
 */
export async function referenceGeneration(format: 'chat' | 'raw', prompt: string, s: Settings) {
  const model = defaultModel();
  const promptIds = encodePrompt(model, prompt, format === 'chat' ? { chat: true } : { raw: true });
  let text = '';
  let stats = null;
  for await (const step of generate(model.createSession(), createContinuationStream(model.tokenizer, promptIds), {
    promptIds, maxNewTokens: s.maxTokens, contextLength: model.contextLength, eosIds: model.eosIds, stop: s.stop,
    sampling: { ...DEFAULT_SAMPLING, temperature: s.temperature, topP: s.topP, seed: s.seed },
  })) {
    text += step.text;
    stats = step.stats;
  }
  return { text, promptTokens: promptIds.length, generatedTokens: stats!.generatedTokens, stopReason: stats!.stopReason };
}

/** Polls `GET /health` until `ready(body)` holds (or throws after `timeoutMs`). */
export async function waitForHealth(url: string, ready: (h: HealthBody) => boolean, timeoutMs = 20_000): Promise<HealthBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as HealthBody;
    if (ready(health)) return health;
    if (Date.now() > deadline) throw new Error(`health never became ready: ${JSON.stringify(health)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface HealthBody {
  status: string;
  slots: number;
  busy: number;
  queued: number;
  completed: number;
  aborted: number;
}
