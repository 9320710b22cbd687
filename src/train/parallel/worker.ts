// Entry of a data-parallel training worker (started by ParallelTrainer). Importing frugal's public
// API registers its custom layers, so the model the main thread sends deserialises here; the Node
// entry also installs the threaded-wasm starter behind initEngine({ threads }) (each worker gets
// its own XNNPACK pool).

import { parentPort, workerData } from 'node:worker_threads';
import { wasmThreads } from '../../node.js';
import { abortBarrier, BarrierAborted } from './barrier.js';
import type { FromReplica, ReplicaInit, ToReplica } from './protocol.js';
import { Replica } from './replica.js';

const init = workerData as ReplicaInit;
const port = parentPort;
if (!port) throw new Error('frugal parallel worker: must run in a worker thread');

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  port?.postMessage({
    type: 'error',
    message,
    aborted: e instanceof BarrierAborted,
  } satisfies FromReplica);
  abortBarrier(init.control);
}

try {
  const replica = await Replica.create(init);
  port.on('message', (msg: ToReplica) => {
    try {
      if (msg.type === 'step') {
        const { loss, timings } = replica.step(msg);
        port.postMessage({ type: 'stepped', step: msg.step, loss, timings } satisfies FromReplica);
      } else if (msg.type === 'weights') {
        const values = replica.weights();
        port.postMessage(
          { type: 'weights', id: msg.id, values } satisfies FromReplica,
          values.map((v) => v.buffer as ArrayBuffer),
        );
      }
    } catch (e) {
      fail(e);
    }
  });
  const threads = init.threads === undefined ? 1 : wasmThreads();
  port.postMessage({ type: 'ready', threads } satisfies FromReplica);
} catch (e) {
  fail(e);
}
