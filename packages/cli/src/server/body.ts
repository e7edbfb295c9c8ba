/**
 * Reading JSON request bodies with a size limit, and writing JSON responses.
 * The limit is checked against `Content-Length` before reading and against the bytes actually
 * received (chunked bodies have no length), so a large upload never gets buffered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, bodyTooLarge } from './errors.ts';

/**
 * Reads the whole body and parses it as a JSON object.
 * @throws ApiError 413 above `limit` bytes, 400 for a body that is not a JSON object
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw bodyTooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // The client closed the connection mid-upload: nobody will read the answer, but it is their error, not ours.
    throw new ApiError(400, `The request body ended early: ${(err as Error).message}`, 'invalid_request_error', null, 'incomplete_body');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `We could not parse the JSON body of your request: ${(err as Error).message}`, 'invalid_request_error', null, 'invalid_json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'The request body must be a JSON object', 'invalid_request_error', null, 'invalid_json');
  }
  return value as Record<string, unknown>;
}

/** Sends `body` as a JSON response (unless the connection is already gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
