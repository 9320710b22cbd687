// A step barrier for worker threads, on an Int32Array over a SharedArrayBuffer: slot 0 counts
// arrivals (monotonic over the run), slot 1 is an abort flag that releases every waiter.

const ARRIVED = 0;
const ABORTED = 1;
/** Int32 slots a barrier needs in its control array. */
export const BARRIER_INTS = 2;
/** How often a waiter re-checks the abort flag, in ms. */
const POLL_MS = 250;

/** Thrown by `arriveAndWait` when the run was aborted while waiting. */
export class BarrierAborted extends Error {
  constructor() {
    super('parallel training aborted: another worker failed or the trainer closed');
    this.name = 'BarrierAborted';
  }
}

export function barrierControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(BARRIER_INTS * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * Arrives at the barrier of `step` (1-based; every party arrives once per step, in order) and
 * blocks until all `parties` have arrived. Throws when the run was aborted (another party failed).
 * Blocking is allowed in worker threads only.
 */
export function arriveAndWait(control: Int32Array, parties: number, step: number): void {
  Atomics.add(control, ARRIVED, 1);
  Atomics.notify(control, ARRIVED);
  const target = step * parties;
  for (;;) {
    const seen = Atomics.load(control, ARRIVED);
    if (seen >= target) return;
    if (Atomics.load(control, ABORTED) !== 0) throw new BarrierAborted();
    Atomics.wait(control, ARRIVED, seen, POLL_MS);
  }
}

/** Releases every waiter with an error; the barrier cannot be used afterwards. */
export function abortBarrier(control: Int32Array): void {
  Atomics.store(control, ABORTED, 1);
  Atomics.notify(control, ARRIVED);
}
