// Entry of a pipeline stage worker (started by PipelineTrainer). Importing frugal's public API
// registers its custom layers, so the model the main thread sends deserialises here.
import '../index.js';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromStage, StageInit, ToStage } from './protocol.js';
import { StageRunner } from './stage-runner.js';

const init = workerData as StageInit;
const port = parentPort;
if (!port) throw new Error('frugal pipeline worker: must run in a worker thread');

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  port?.postMessage({ type: 'error', message } satisfies FromStage);
}

try {
  const runner = await StageRunner.create(init);
  // Runs are handled one at a time, in order (a run awaits its neighbours' messages).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToStage) => {
    queue = queue.then(async () => {
      try {
        if (msg.type === 'run') {
          const { losses, stats } = await runner.run(msg);
          port.postMessage({ type: 'ran', id: msg.id, losses, stats } satisfies FromStage);
        } else if (msg.type === 'weights') {
          const { indices, values } = runner.weights();
          port.postMessage(
            { type: 'weights', id: msg.id, indices, values } satisfies FromStage,
            values.map((v) => v.buffer as ArrayBuffer),
          );
        }
      } catch (e) {
        fail(e);
      }
    });
  });
  port.postMessage({ type: 'ready' } satisfies FromStage);
} catch (e) {
  fail(e);
}
