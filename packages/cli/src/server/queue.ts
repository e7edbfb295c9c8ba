/**
 * A fixed set of generation slots and a bounded FIFO queue in front of them (llama-server's
 * `--parallel` slots). Each slot owns one value (an inference session with its own KV cache); a
 * request leases a slot, generates, and hands it back. When every slot is busy, requests wait in
 * arrival order; when the queue is full too, `acquire` fails at once (503) instead of piling up
 * work the server cannot do.
 */
import { serverBusy } from './errors.ts';

/** A leased slot: use `value`, then call `release()` exactly once. */
export interface Lease<T> {
  readonly value: T;
  release(): void;
}

interface Waiter<T> {
  grant(lease: Lease<T>): void;
}

/** Thrown by `acquire` when the caller's signal aborts while it waits. */
export class AcquireAbortedError extends Error {
  constructor() {
    super('request aborted while waiting for a generation slot');
    this.name = 'AcquireAbortedError';
  }
}

export class SlotPool<T> {
  private readonly free: T[] = [];
  private readonly waiting: Waiter<T>[] = [];
  private created = 0;

  /**
   * @param create     makes a slot's value the first time the slot is used
   * @param slots      how many leases may be held at once (≥ 1)
   * @param queueLimit how many requests may wait for a slot (≥ 0)
   */
  constructor(
    private readonly create: () => T,
    readonly slots: number,
    readonly queueLimit: number,
  ) {}

  /** Leases currently held. */
  get busy(): number {
    return this.created - this.free.length;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Leases a slot: at once if one is free, else after the requests queued before this one.
   * @throws ApiError 503 when the queue is full; AcquireAbortedError when `signal` aborts first
   */
  acquire(signal?: AbortSignal): Promise<Lease<T>> {
    if (signal?.aborted) return Promise.reject(new AcquireAbortedError());
    const value = this.free.pop() ?? (this.created < this.slots ? this.make() : undefined);
    if (value !== undefined) return Promise.resolve(this.lease(value));
    if (this.waiting.length >= this.queueLimit) return Promise.reject(serverBusy());
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = {
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      };
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new AcquireAbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private make(): T {
    const value = this.create();
    this.created++;
    return value;
  }

  private lease(value: T): Lease<T> {
    let released = false;
    return {
      value,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next.grant(this.lease(value)); // hand the slot straight to the oldest waiter
        else this.free.push(value);
      },
    };
  }
}
