import { writeJsonAtomic } from '../../io/atomic-write.js';
import {
  buildModel,
  isZooModel,
  ZOO_LAYOUT,
  ZOO_MODELS,
  type ZooModelName,
} from '../../models/zoo.js';
import { fixed, mb } from '../../report/format.js';
import { benchmarkStep, type StepBenchmark } from '../../train/benchmark-step.js';
import { startEngine } from '../memory-plan.js';
import { progressWanted, taskLines } from '../progress-bar.js';
import { renderTable } from '../table.js';

export interface BenchCommandOptions {
  model: string;
  backend: string;
  batch: number;
  steps: number;
  out?: string;
  /** frugal's fast training kernels (default on). */
  fastKernels?: boolean;
  /** A progress line per model and backend on stderr when it is a terminal (default on). */
  progress?: boolean;
}

export interface BenchRow {
  model: ZooModelName;
  backend: string;
  result?: StepBenchmark;
  error?: string;
}

/** `frugal bench`: training-step time and memory of zoo models on one or more backends. */
export async function benchCommand(o: BenchCommandOptions): Promise<BenchRow[]> {
  const models = o.model === 'all' ? [...ZOO_MODELS] : o.model.split(',');
  for (const m of models) {
    if (!isZooModel(m))
      throw new Error(`Unknown model '${m}': choose one of ${ZOO_MODELS.join(', ')} or all`);
  }
  const backends = o.backend.split(',');
  const rows: BenchRow[] = [];
  const tasks = taskLines(progressWanted(o.progress));
  for (const backend of backends) {
    await startEngine({ backend, fastKernels: o.fastKernels });
    for (const name of models as ZooModelName[]) {
      const shape = ZOO_LAYOUT[name] === 'image' ? [28, 28, 1] : [28, 28];
      const model = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
      try {
        rows.push({
          model: name,
          backend,
          result: await benchmarkStep(model, {
            batchSize: o.batch,
            steps: o.steps,
            numClasses: 10,
            onProgress: (e) => tasks.onProgress({ ...e, task: `${name} on ${backend}: ${e.task}` }),
          }),
        });
      } catch (e) {
        rows.push({ model: name, backend, error: (e as Error).message });
      } finally {
        tasks.stop();
        model.dispose();
      }
    }
  }
  console.log(
    renderTable(
      ['model', 'backend', 'batch', 'step ms', 'samples/s', 'saved act MB', 'act MB', 'peak MB'],
      rows.map((r) =>
        r.result
          ? [
              r.model,
              r.backend,
              o.batch,
              fixed(r.result.stepMs),
              fixed(r.result.samplesPerSecond, 1),
              mb(r.result.memory.savedActivationBytes),
              mb(r.result.memory.activationBytes),
              mb(r.result.memory.peakBytes),
            ]
          : [r.model, r.backend, o.batch, `fails: ${r.error?.slice(0, 50)}`, '', '', '', ''],
      ),
    ),
  );
  if (o.out) {
    writeJsonAtomic(o.out, { tool: 'frugal bench', batch: o.batch, steps: o.steps, rows });
    console.log(`report written to ${o.out}`);
  }
  return rows;
}
