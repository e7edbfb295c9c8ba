/**
 * The HTTP server on `node:http`: the API-key check, routing (openai.ts holds the routes) and the
 * error boundary that turns anything a request can throw into an OpenAI JSON error, so no input
 * can crash the process. A client that disconnects before its response is complete aborts the
 * request's signal, which stops its generation (or takes it out of the queue).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from './body.ts';
import { forbiddenHost, invalidApiKey, methodNotAllowed, toApiError, unknownUrl } from './errors.ts';
import { MODEL_PREFIX, ROUTES, retrieveModel, type ServerContext } from './openai.ts';

/** Routes anyone may call without the API key (load balancers poll it). */
const PUBLIC_PATHS = new Set(['/health']);

/** Who may talk to the server. */
export interface AccessOptions {
  /** When set, every route but /health needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /**
   * Answer only requests whose Host header names a loopback host. A server on 127.0.0.1 is
   * otherwise reachable from any web page the user opens, through DNS rebinding (the page's own
   * domain re-resolving to 127.0.0.1), as ollama learned (CVE-2024-28224).
   */
  readonly loopbackHostsOnly: boolean;
}

interface AccessChecks {
  readonly key: ((req: IncomingMessage) => boolean) | null;
  readonly loopbackHostsOnly: boolean;
}

/** Creates (does not start) the server. */
export function createApiServer(ctx: ServerContext, access: AccessOptions): Server {
  const checks: AccessChecks = { key: access.apiKey === undefined ? null : keyChecker(access.apiKey), loopbackHostsOnly: access.loopbackHostsOnly };
  return createServer((req, res) => {
    handle(req, res, ctx, checks).catch((err: unknown) => {
      // handle() answers every error itself; reaching this means answering failed too.
      ctx.logError(`internal error while answering ${req.method} ${req.url}: ${(err as Error).message}`);
      res.destroy();
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, checks: AccessChecks): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(); // the client went away before the response was complete
  });
  const method = req.method ?? 'GET';
  const path = pathOf(req.url);
  try {
    const host = req.headers.host;
    if (checks.loopbackHostsOnly && host !== undefined && !isLoopbackAddress(hostnameOf(host))) throw forbiddenHost(host);
    if (checks.key && !PUBLIC_PATHS.has(path) && !checks.key(req)) throw invalidApiKey();
    if (path.startsWith(MODEL_PREFIX) && path.length > MODEL_PREFIX.length) {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      retrieveModel(decodePathPart(path.slice(MODEL_PREFIX.length)), res, ctx);
      return;
    }
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route) throw unknownUrl(method, path);
    const handler = Object.hasOwn(route, method) ? route[method] : undefined;
    if (!handler) throw methodNotAllowed(method, path);
    await handler(req, res, ctx, controller.signal);
  } catch (err) {
    const apiError = toApiError(err);
    if (apiError.status >= 500 && apiError.status !== 503) ctx.logError(`internal error on ${method} ${path}: ${(err as Error).stack ?? String(err)}`);
    if (res.headersSent) {
      res.destroy(); // a half-sent response cannot carry an error any more
      return;
    }
    const headers: Record<string, string> = {};
    if (apiError.status === 503) headers['Retry-After'] = '1';
    // An unread (oversized) body would be parsed as the next request on this connection: close it after the answer.
    if (!req.complete) headers.Connection = 'close';
    sendJson(res, apiError.status, apiError.toJSON(), headers);
    req.resume(); // discard what is left of the body without buffering it
  }
}

/** The request path without the query string and trailing slashes ('' → '/'). */
function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0].replace(/\/+$/, '');
  return path === '' ? '/' : path;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (with or without brackets). */
export function isLoopbackAddress(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The host name of a Host header (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `[::1]`); '' if malformed. */
function hostnameOf(hostHeader: string): string {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return '';
  }
}

/** Percent-decodes a path segment; a malformed escape is kept as written (and matches no model). */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Compares `Authorization: Bearer <key>` in constant time (hashes make the lengths equal). */
function keyChecker(apiKey: string): (req: IncomingMessage) => boolean {
  const expected = sha256(apiKey);
  return (req) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return match !== null && timingSafeEqual(sha256(match[1].trim()), expected);
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Starts listening and resolves with the URL clients use (`--port 0` picks a free port).
 * @throws the listen error (port in use, address not available)
 */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}
