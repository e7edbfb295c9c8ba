// SlotPool: at most `slots` leases at once, waiters served first come first served, a full queue
// rejects at once with a 503, an aborted waiter leaves the queue, slot values are reused.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { ApiError } from '../../src/server/errors.ts';
import { AcquireAbortedError, SlotPool, type Lease } from '../../src/server/queue.ts';

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SlotPool', () => {
  test('creates slot values lazily, up to `slots`, and reuses released ones', async () => {
    let made = 0;
    const pool = new SlotPool(() => ++made, 2, 4);
    const a = await pool.acquire();
    a.release();
    const b = await pool.acquire();
    expect(b.value).toBe(a.value); // reused, not a new session
    const c = await pool.acquire();
    expect(made).toBe(2);
    expect(pool.busy).toBe(2);
    b.release();
    c.release();
    c.release(); // a second release is a no-op
    expect(pool.busy).toBe(0);
  });

  test('a full queue rejects with a 503 ApiError; an aborted waiter leaves the queue', async () => {
    const pool = new SlotPool(() => ({}), 1, 1);
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    expect(pool.queued).toBe(1);
    const rejected = await pool.acquire().catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ApiError);
    expect((rejected as ApiError).status).toBe(503);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AcquireAbortedError);
    expect(pool.queued).toBe(0);
    held.release();
    expect(pool.busy).toBe(0);
    await expect(pool.acquire(controller.signal)).rejects.toBeInstanceOf(AcquireAbortedError); // already aborted
  });

  fcTest.prop(
    [fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 })],
    { seed: 42, numRuns: 100 },
  )('grants in arrival order and never holds more than `slots` leases', async (slots, releasePicks) => {
    const pool = new SlotPool(() => ({}), slots, releasePicks.length);
    const granted: number[] = [];
    const held: Lease<object>[] = [];
    const requests = releasePicks.map((_, i) => pool.acquire().then((lease) => {
      granted.push(i);
      held.push(lease);
    }));
    for (const pick of releasePicks) {
      await settle();
      expect(pool.busy).toBeLessThanOrEqual(slots);
      expect(held.length).toBe(pool.busy);
      if (held.length > 0) held.splice(pick % held.length, 1)[0].release();
    }
    await settle();
    while (held.length > 0) {
      held.pop()!.release();
      await settle();
    }
    await Promise.all(requests);
    expect(granted).toEqual(releasePicks.map((_, i) => i));
    expect(pool.busy).toBe(0);
    expect(pool.queued).toBe(0);
  });
});
