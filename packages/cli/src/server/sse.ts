/**
 * Server-sent events as the OpenAI streaming API sends them: one `data: <json>` event per chunk,
 * ended by `data: [DONE]` (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Writes honour backpressure: a slow reader pauses generation instead of growing a buffer.
 */
import type { ServerResponse } from 'node:http';

export interface SseStream {
  /** Sends one JSON event; resolves once the socket can take more (or the client is gone). */
  send(data: unknown): Promise<void>;
  /** Sends `data: [DONE]` and ends the response. */
  done(): void;
}

/** Starts an event stream on `res` (status 200). */
export function startSse(res: ServerResponse): SseStream {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no', // tell reverse proxies (nginx) not to buffer the stream
  });
  res.flushHeaders();
  return {
    async send(data) {
      if (res.destroyed || res.writableEnded) return;
      if (!res.write(`data: ${JSON.stringify(data)}\n\n`)) {
        await drainedOrClosed(res);
      }
    },
    done() {
      if (res.destroyed || res.writableEnded) return;
      res.end('data: [DONE]\n\n');
    },
  };
}

/** Resolves at the next 'drain' or 'close' of `res`, removing both listeners. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      res.off('drain', finish);
      res.off('close', finish);
      resolve();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}
