/**
 * `phi3 serve`: an OpenAI-compatible HTTP server (llama-server's flags: `-m --host --port
 * --api-key -c/--ctx-size --parallel`). Listens on 127.0.0.1 unless `--host` says otherwise, and
 * then answers only requests addressed to a loopback name (see server.ts); the listening URL goes
 * to stderr (with `--port 0`, the port the system picked). Ctrl-C / SIGTERM close the server,
 * aborting running generations.
 */
import type { Server } from 'node:http';
import { basename } from 'node:path';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import {
  addModelOption, addWeightPlacementOptions, isVerbose, oneLineErrors, parseInteger, parsePositiveInteger, type WeightPlacementFlags,
} from '../options.ts';
import { stderrStatus } from '../progress.ts';
import { openModel } from '../load-model.ts';
import { UsageError } from '../run-main.ts';
import { Engine } from '../server/engine.ts';
import { createApiServer, isLoopbackAddress, listen } from '../server/server.ts';
import { unixNow } from '../server/shapes.ts';

interface ServeFlags extends WeightPlacementFlags {
  model?: string;
  host: string;
  port: number;
  apiKey?: string;
  ctxSize?: number;
  parallel: number;
  queueSize: number;
  maxBodySize: number;
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('serve'))
    .description('OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/models, /health');
  addModelOption(cmd, false);
  cmd
    .addOption(new Option('--host <address>', 'address to listen on; anything but loopback exposes the server to the network').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'TCP port; 0 = any free port').argParser(parsePort).default(8080))
    .addOption(new Option('--api-key <key>', 'require "Authorization: Bearer <key>" on every route but /health'))
    .addOption(new Option('-c, --ctx-size <n>', 'tokens each request may hold, prompt included (default: the model\'s context)').argParser(parsePositiveInteger))
    .addOption(new Option('--parallel <n>', 'generations running at once, each with its own KV cache').argParser(parsePositiveInteger).default(1))
    .addOption(new Option('--queue-size <n>', 'requests that may wait for a free slot before the server answers 503').argParser(parseNonNegativeInteger).default(64))
    .addOption(new Option('--max-body-size <bytes>', 'largest request body accepted (413 above)').argParser(parsePositiveInteger).default(1 << 20));
  addWeightPlacementOptions(cmd); // the same --dtype/--kernels/-t and defaults as generate, so both give the same text
  cmd.action(async (flags: ServeFlags, self: Command) => {
    const verbose = isVerbose(self);
    const opened = openModel(flags.model, stderrStatus(verbose), flags);
    const modelContext = opened.contextLength;
    if (flags.ctxSize !== undefined && flags.ctxSize > modelContext) {
      throw new UsageError(`--ctx-size ${flags.ctxSize} exceeds the model's context length of ${modelContext} tokens`);
    }
    const contextLength = flags.ctxSize ?? modelContext;
    const engine = new Engine(opened, { contextLength, parallel: flags.parallel, queueSize: flags.queueSize });
    const modelId = basename(opened.path);
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const loopback = isLoopbackAddress(flags.host);
    const server = createApiServer(
      { engine, modelId, created: unixNow(), maxBodyBytes: flags.maxBodySize, log: verbose ? log : () => {}, logError: log },
      { apiKey: flags.apiKey, loopbackHostsOnly: loopback },
    );
    let url: string;
    try {
      url = await listen(server, flags.host, flags.port);
    } catch (err) {
      throw new UsageError(`cannot listen on ${flags.host}:${flags.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    log(`phi3 serve: listening on ${url} (model ${modelId}, context ${contextLength}, ${flags.parallel} parallel, queue ${flags.queueSize})`);
    if (!loopback && flags.apiKey === undefined) {
      log(`warning: ${flags.host} is reachable from the network and no --api-key is set`);
    }
    await closedBySignal(server);
  });
}

/** Resolves once SIGINT or SIGTERM has closed the server (open connections are cut, generations abort). */
function closedBySignal(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** commander argument parser: a TCP port, 0-65535. */
function parsePort(value: string): number {
  const n = parseInteger(value);
  if (n < 0 || n > 65535) throw new CommanderArgumentError('must be a port number in [0, 65535].');
  return n;
}

/** commander argument parser: an integer ≥ 0. */
function parseNonNegativeInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw new CommanderArgumentError('must be an integer ≥ 0.');
  return n;
}
