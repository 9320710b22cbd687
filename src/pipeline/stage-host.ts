// Where a pipeline stage runs: in a worker thread (stage workers run concurrently), or in this
// thread (the same StageRunner, driven by the same schedule and messages; for tests and for a
// single-core run). The trainer talks to both through `StageHost`.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { spawnWorker } from '../train/parallel/spawn-worker.js';
import type { FromStage, StageInit, StageRunStats, ToStage } from './protocol.js';
import { type RunMessage, StageRunner } from './stage-runner.js';

export interface StageHost {
  run(msg: RunMessage): Promise<{ losses: number[]; stats: StageRunStats }>;
  weights(): Promise<{ indices: number[]; values: Float32Array[] }>;
  /** Another stage failed: stop waiting for it (the run in flight never completes). */
  fail(e: Error): void;
  close(): Promise<void>;
}

/** The worker entry beside this module (`worker.ts` under tsx, `worker.js` in dist/). */
function stageWorkerEntry(): URL {
  const fromSource = new URL(import.meta.url).pathname.endsWith('.ts');
  return new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
}

/** Ports between neighbouring stages: `links[i]` joins stage i and i + 1. */
export function stageLinks(stages: number): { prev?: MessagePort; next?: MessagePort }[] {
  const ends: { prev?: MessagePort; next?: MessagePort }[] = Array.from(
    { length: stages },
    () => ({}),
  );
  for (let i = 0; i + 1 < stages; i++) {
    const { port1, port2 } = new MessageChannel();
    ends[i].next = port1;
    ends[i + 1].prev = port2;
  }
  return ends;
}

class InProcessStage implements StageHost {
  constructor(
    private readonly runner: StageRunner,
    private readonly ports: MessagePort[],
  ) {}

  run(msg: RunMessage) {
    return this.runner.run(msg);
  }

  async weights() {
    return this.runner.weights();
  }

  /** Closes the ports: a run waiting for a neighbour's message then holds no handle open. */
  fail(): void {
    for (const p of this.ports) p.close();
  }

  async close() {
    this.runner.dispose();
    for (const p of this.ports) p.close();
  }
}

/** A stage running in this thread; its ports deliver messages between turns of the event loop. */
export async function inProcessStage(init: StageInit): Promise<StageHost> {
  const runner = await StageRunner.create(init, true);
  const ports = [init.prev, init.next].filter((p): p is MessagePort => p !== undefined);
  return new InProcessStage(runner, ports);
}

interface Pending {
  resolve: (msg: FromStage) => void;
  reject: (e: Error) => void;
}

class WorkerStage implements StageHost {
  private readonly pending = new Map<string, Pending>();
  private failure: Error | undefined;
  private closed = false;
  private requests = 0;

  constructor(
    private readonly index: number,
    private readonly worker: Worker,
    private readonly onFailure: (e: Error) => void,
  ) {
    worker.on('message', (msg: FromStage) => this.receive(msg));
    worker.on('error', (e) => this.fail(new Error(`pipeline stage ${index} failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`pipeline stage ${index} exited (code ${code})`));
    });
    worker.unref();
  }

  ready(): Promise<FromStage> {
    return this.expect('ready');
  }

  async run(msg: RunMessage) {
    const transfer = [...(msg.inputs ?? []), ...(msg.targets ?? [])].map(
      (r) => r.values.buffer as ArrayBuffer,
    );
    const r = await this.request(`run:${msg.id}`, msg, transfer);
    if (r.type !== 'ran')
      throw new Error(`pipeline stage ${this.index}: unexpected reply ${r.type}`);
    return { losses: r.losses, stats: r.stats };
  }

  async weights() {
    const id = ++this.requests;
    const r = await this.request(`weights:${id}`, { type: 'weights', id });
    if (r.type !== 'weights')
      throw new Error(`pipeline stage ${this.index}: unexpected reply ${r.type}`);
    return { indices: r.indices, values: r.values };
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('PipelineTrainer: closed'));
    await this.worker.terminate();
  }

  private request(key: string, msg: ToStage, transfer: ArrayBuffer[] = []): Promise<FromStage> {
    const reply = this.expect(key);
    this.worker.postMessage(msg, transfer);
    return reply;
  }

  private expect(key: string): Promise<FromStage> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(key, { resolve, reject });
      this.worker.ref();
    });
  }

  private receive(msg: FromStage): void {
    if (msg.type === 'error') {
      this.fail(new Error(`pipeline stage ${this.index}: ${msg.message}`));
      return;
    }
    const key =
      msg.type === 'ready' ? 'ready' : msg.type === 'ran' ? `run:${msg.id}` : `weights:${msg.id}`;
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (this.pending.size === 0) this.worker.unref();
    p.resolve(msg);
  }

  fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.rejectAll(e);
    this.onFailure(e);
  }

  private rejectAll(e: Error): void {
    for (const [key, p] of [...this.pending]) {
      this.pending.delete(key);
      p.reject(e);
    }
    this.worker.unref();
  }
}

/**
 * Starts stage `init.index` in a worker thread (its ports are transferred to it) and waits until
 * it is ready. `onFailure` hears a failure of this stage (the trainer fails the other stages, which
 * would otherwise wait for this one's messages forever).
 */
export async function workerStage(
  init: StageInit,
  onFailure: (e: Error) => void,
): Promise<StageHost> {
  const ports = [init.prev, init.next].filter((p): p is MessagePort => p !== undefined);
  const worker = spawnWorker(stageWorkerEntry(), { workerData: init, transferList: ports });
  const host = new WorkerStage(init.index, worker, onFailure);
  try {
    await host.ready();
  } catch (e) {
    await host.close();
    throw e;
  }
  return host;
}
