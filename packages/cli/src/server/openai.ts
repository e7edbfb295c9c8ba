/**
 * The OpenAI-compatible routes: `POST /v1/chat/completions`, `POST /v1/completions`,
 * `GET /v1/models[/{id}]` and `GET /health`. Chat messages go through the model's chat template
 * (`renderChat`, as `phi3 generate --chat` does); text prompts are encoded raw with the tokenizer's
 * own BOS setting (as `phi3 generate --raw` does). Routing, auth and the error boundary live in
 * server.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderChat } from '@phi3/model';
import { encodePrompt } from '../load-model.ts';
import { readJsonBody, sendJson } from './body.ts';
import type { Engine, GenerationJob, GenerationResult } from './engine.ts';
import { modelNotFound, requestErrorOr, toApiError } from './errors.ts';
import { AcquireAbortedError } from './queue.ts';
import { parseChatParams, parseTextParams, type CompletionParams } from './requests.ts';
import { chatShape, textShape, unixNow, type ResponseShape } from './shapes.ts';
import { startSse, type SseStream } from './sse.ts';

/** What the routes need to know about the server. */
export interface ServerContext {
  readonly engine: Engine;
  /** The name clients pass as `model` (the model folder or file name). */
  readonly modelId: string;
  /** When the model was loaded (unix seconds), for `/v1/models`. */
  readonly created: number;
  readonly maxBodyBytes: number;
  /** One line per finished request (verbose mode), else a no-op. */
  readonly log: (line: string) => void;
  /** Internal errors: always printed. */
  readonly logError: (line: string) => void;
}

/** A route handler; `signal` aborts when the client disconnects. */
export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: ServerContext, signal: AbortSignal) => Promise<void> | void;

/** Routes by path, then method (a known path with another method is a 405, not a 404). */
export const ROUTES: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  '/v1/chat/completions': { POST: chatCompletions },
  '/v1/completions': { POST: textCompletions },
  '/v1/models': { GET: listModels },
  '/health': { GET: health },
};

/** `GET /v1/models/{id}` is matched by prefix (the id is the rest of the path). */
export const MODEL_PREFIX = '/v1/models/';

async function chatCompletions(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, signal: AbortSignal): Promise<void> {
  const params = parseChatParams(await readJsonBody(req, ctx.maxBodyBytes));
  checkModel(params, ctx);
  const { tokenizer } = ctx.engine.opened;
  let promptIds: number[];
  try {
    promptIds = tokenizer.encode(renderChat(tokenizer, params.messages));
  } catch (err) {
    throw requestErrorOr(err, 'messages');
  }
  await serveGeneration(res, ctx, signal, params, promptIds, chatShape({ model: ctx.modelId, includeUsage: params.includeUsage }), 'messages');
}

async function textCompletions(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, signal: AbortSignal): Promise<void> {
  const params = parseTextParams(await readJsonBody(req, ctx.maxBodyBytes));
  checkModel(params, ctx);
  const promptIds = encodePrompt(ctx.engine.opened, params.prompt, { raw: true });
  await serveGeneration(res, ctx, signal, params, promptIds, textShape({ model: ctx.modelId, includeUsage: params.includeUsage }), 'prompt');
}

function checkModel(params: CompletionParams, ctx: ServerContext): void {
  if (params.model !== undefined && params.model !== ctx.modelId) throw modelNotFound(params.model, ctx.modelId);
}

/**
 * Runs one generation and answers with one JSON object or, with `stream`, server-sent events.
 * The event stream starts with the first generated token, so a prompt the library rejects (too
 * long for the context) is still a plain HTTP 400; an error after that ends the stream with an
 * `error` event. A client that goes away aborts the generation (engine.run returns null).
 */
async function serveGeneration(
  res: ServerResponse, ctx: ServerContext, signal: AbortSignal, params: CompletionParams,
  promptIds: readonly number[], shape: ResponseShape, promptParam: string,
): Promise<void> {
  const { maxTokens, sampling, stop, ignoreEos } = params;
  const job: GenerationJob = { promptIds, maxTokens, sampling, stop, ignoreEos };
  const started = performance.now();
  if (!params.stream) {
    let text = '';
    const result = await runJob(ctx, job, signal, promptParam, (t) => void (text += t));
    if (result) sendJson(res, 200, shape.complete(text, result.finishReason, result.usage));
    logResult(ctx, result, started);
    return;
  }
  let sse: SseStream | null = null;
  try {
    const result = await runJob(ctx, job, signal, promptParam, async (text) => {
      if (!sse) {
        sse = startSse(res);
        const opening = shape.opening();
        if (opening) await sse.send(opening);
      }
      if (text) await sse.send(shape.delta(text));
    });
    logResult(ctx, result, started);
    if (!result || !sse) return;
    const stream: SseStream = sse;
    await stream.send(shape.finish(result.finishReason));
    if (params.includeUsage) await stream.send(shape.usage(result.usage));
    stream.done();
  } catch (err) {
    if (!sse) throw err;
    const apiError = toApiError(err);
    if (apiError.status === 500) ctx.logError(`internal error during a stream: ${(err as Error).stack ?? String(err)}`);
    const stream: SseStream = sse;
    await stream.send(apiError.toJSON()); // headers are out: report in the stream, as OpenAI does
    stream.done();
  }
}

/** engine.run with library errors turned into ApiErrors naming the prompt field; null when the client left. */
async function runJob(
  ctx: ServerContext, job: GenerationJob, signal: AbortSignal, promptParam: string, onStep: (text: string) => Promise<void> | void,
): Promise<GenerationResult | null> {
  try {
    return await ctx.engine.run(job, signal, onStep);
  } catch (err) {
    if (err instanceof AcquireAbortedError) return null; // left while queued: nobody to answer
    throw requestErrorOr(err, promptParam);
  }
}

function logResult(ctx: ServerContext, result: GenerationResult | null, started: number): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  ctx.log(result
    ? `generation: ${result.usage.prompt_tokens} prompt + ${result.usage.completion_tokens} generated tokens, finish ${result.finishReason}, ${seconds} s`
    : `generation aborted after ${seconds} s: the connection closed`);
}

function modelObject(ctx: ServerContext): object {
  return { id: ctx.modelId, object: 'model', created: ctx.created, owned_by: 'phi3.ts' };
}

function listModels(_req: IncomingMessage, res: ServerResponse, ctx: ServerContext): void {
  sendJson(res, 200, { object: 'list', data: [modelObject(ctx)] });
}

/** `GET /v1/models/{id}`. */
export function retrieveModel(id: string, res: ServerResponse, ctx: ServerContext): void {
  if (id !== ctx.modelId) throw modelNotFound(id, ctx.modelId);
  sendJson(res, 200, modelObject(ctx));
}

/** Liveness plus the slot and queue counters (llama-server's `/health` says `{"status": "ok"}`). */
function health(_req: IncomingMessage, res: ServerResponse, ctx: ServerContext): void {
  sendJson(res, 200, { status: 'ok', model: ctx.modelId, ...ctx.engine.stats, time: unixNow() });
}
