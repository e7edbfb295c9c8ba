// `phi3 serve` over raw HTTP: malformed and oversize requests, unknown routes, a full queue (503),
// clients that disconnect while queued or mid-stream. One slot and a one-place queue make the busy
// states reachable; the server must answer everything in OpenAI's error shape and keep serving.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, waitForHealth, type RunningServer } from './harness.ts';

const BODY_LIMIT = 4096;
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(['--parallel', '1', '--queue-size', '1', '--max-body-size', String(BODY_LIMIT)]);
});
afterAll(async () => {
  expect(server.alive()).toBe(true);
  expect(server.stderr()).not.toMatch(/internal error/); // every failure above was the client's, and answered as such
  expect(await server.stop()).toBe(0);
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; `chunked` sends the body without Content-Length. */
function send(method: string, path: string, body?: string | Buffer, options: { chunked?: boolean; host?: string } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(options.host ? { Host: options.host } : {}) };
    if (body !== undefined && !options.chunked) headers['Content-Length'] = String(Buffer.byteLength(body));
    const req = request({ hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Asserts OpenAI's error shape and returns the error object. */
function expectError(r: RawResponse, status: number, code: string | null): Record<string, unknown> {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toBe('application/json');
  const { error } = JSON.parse(r.body) as { error: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
  expect(error.code).toBe(code);
  return error;
}

describe('malformed requests get JSON errors', () => {
  test('400 for bodies that are not a JSON object', async () => {
    for (const body of ['{"model": ', '', '[1, 2]', 'null', '"text"', '\u0000\u00ff']) {
      expectError(await send('POST', '/v1/chat/completions', body), 400, 'invalid_json');
    }
  });
  test('400 for a missing prompt / messages', async () => {
    expect(expectError(await send('POST', '/v1/completions', '{}'), 400, 'invalid_value').param).toBe('prompt');
    expect(expectError(await send('POST', '/v1/chat/completions', '{"messages": "hi"}'), 400, 'invalid_value').param).toBe('messages');
  });
  test('404 for unknown routes, 405 for a known route with the wrong method', async () => {
    expectError(await send('GET', '/v1/embeddings'), 404, 'unknown_url');
    expectError(await send('POST', '/'), 404, 'unknown_url');
    expectError(await send('GET', '/v1/chat/completions'), 405, 'method_not_allowed');
    expectError(await send('GET', '/v1/models/%E0%A4%A'), 404, 'model_not_found');
  });
  test('413 for a body over the limit, with or without Content-Length; the next request is fine', async () => {
    const big = JSON.stringify({ prompt: 'x'.repeat(BODY_LIMIT * 4) });
    expectError(await send('POST', '/v1/completions', big), 413, 'request_too_large');
    expectError(await send('POST', '/v1/completions', big, { chunked: true }), 413, 'request_too_large');
    const ok = await send('POST', '/v1/completions', JSON.stringify({ prompt: 'ROMEO:', max_tokens: 2 }));
    expect(ok.status).toBe(200);
  });
  test('a client that disconnects halfway through its upload does not disturb the server', async () => {
    const { hostname, port } = new URL(server.url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"prompt": "ROM');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    expect((await send('GET', '/health')).status).toBe(200);
  });
  test('403 for requests addressed to a non-loopback host name (DNS rebinding); loopback names are served', async () => {
    const { port } = new URL(server.url);
    for (const host of ['evil.example', `attacker.test:${port}`, '10.0.0.1', '127.0.0.1.nip.io']) {
      expectError(await send('GET', '/health', undefined, { host }), 403, 'forbidden_host');
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, '127.1.2.3', `[::1]:${port}`, 'app.localhost']) {
      expect((await send('GET', '/health', undefined, { host })).status).toBe(200);
    }
  });
  test('garbage that is not HTTP gets a 400 from node:http and the server keeps serving', async () => {
    const { hostname, port } = new URL(server.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), hostname, () => socket.end('\u0001\u0002 NOT HTTP\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await send('GET', '/health')).status).toBe(200);
  });
});

/** Starts a streaming completion that runs `maxTokens` tokens unless stopped; resolves at its first event. */
function startLongStream(maxTokens: number): Promise<{ events: () => number; disconnect: () => void }> {
  const { hostname, port } = new URL(server.url);
  const body = JSON.stringify({ prompt: 'ROMEO:', max_tokens: maxTokens, ignore_eos: true, temperature: 1, seed: 3, stream: true });
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method: 'POST', path: '/v1/completions', headers: { 'Content-Type': 'application/json' } }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let events = 0;
      res.setEncoding('utf8').on('data', (d: string) => {
        events += d.split('data: ').length - 1;
        if (events > 0) resolve({ events: () => events, disconnect: () => req.destroy() });
      });
      res.on('error', () => {}); // the test destroys the request on purpose
    });
    req.on('error', (err) => (err.message.includes('socket hang up') || err.message.includes('aborted') ? undefined : reject(err)));
    req.end(body);
  });
}

describe('busy slots, the queue and disconnects', () => {
  test('one running + one queued; the next is a 503; leaving the queue and leaving mid-stream both free their places', async () => {
    const before = await waitForHealth(server.url, (h) => h.busy === 0 && h.queued === 0);
    const running = await startLongStream(400); // 400 tokens take seconds: it outlives the steps below
    expect((await waitForHealth(server.url, (h) => h.busy === 1)).queued).toBe(0);

    // A second request waits in the queue (its own client will give up).
    const queuedReq = request(`${server.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
    queuedReq.on('error', () => {});
    queuedReq.end(JSON.stringify({ prompt: 'x', max_tokens: 2 }));
    await waitForHealth(server.url, (h) => h.queued === 1);

    const busy = await send('POST', '/v1/completions', JSON.stringify({ prompt: 'x', max_tokens: 2 }));
    expectError(busy, 503, 'server_busy');
    expect(busy.headers['retry-after']).toBe('1');

    queuedReq.destroy();
    await waitForHealth(server.url, (h) => h.queued === 0 && h.busy === 1); // left the queue; the stream still runs

    const seen = running.events();
    running.disconnect();
    const after = await waitForHealth(server.url, (h) => h.busy === 0);
    expect(after.aborted).toBe(before.aborted + 1); // the generation stopped early (not a completion)
    expect(after.completed).toBe(before.completed);
    expect(seen).toBeLessThan(400);

    // ... and the slot serves the next request.
    const next = await send('POST', '/v1/completions', JSON.stringify({ prompt: 'ROMEO:', max_tokens: 3 }));
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body).usage.completion_tokens).toBe(3);
  });

  test('a client that disconnects from a non-streaming request aborts it too', async () => {
    const before = await waitForHealth(server.url, (h) => h.busy === 0);
    const req = request(`${server.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ prompt: 'ROMEO:', max_tokens: 400, ignore_eos: true }));
    await waitForHealth(server.url, (h) => h.busy === 1);
    req.destroy();
    const after = await waitForHealth(server.url, (h) => h.busy === 0);
    expect(after.aborted).toBe(before.aborted + 1);
    expect(after.completed).toBe(before.completed);
  });
});
