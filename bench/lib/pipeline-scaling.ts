// Predicted scaling of PipeDream-2BW against data parallelism over d machines (one worker each),
// from measured costs: a chain's per-layer forward/backward times at the microbatch size, the data
// parallel shard's step time per worker count, and the optimizer update's cost per weight byte.
// Pure: the planner cuts the chain for each d, the discrete-event simulator runs both schedules.
import { type LayerCost, planPipeline } from '../../src/pipeline/planner.js';
import {
  type LinkSpec,
  type SimStage,
  simulateDataParallel,
  simulatePipeline,
} from '../../src/pipeline/simulator.js';

export interface ScalingLayer {
  name: string;
  /** Recorded forward and backward of one microbatch, ms. */
  fwdMs: number;
  bwdMs: number;
  weightBytes: number;
  /** Bytes of its output per microbatch (what a cut after it sends on). */
  outputBytes: number;
}

export interface ScalingInput {
  layers: ScalingLayer[];
  /** Rows of one microbatch (the layers' costs are at this size). */
  microbatchRows: number;
  /** Microbatches per batch: the batch is microbatchRows x microbatches rows. */
  microbatches: number;
  /** Forward + backward of one data-parallel worker's shard (batch / d rows), ms, per d. */
  dataParallelComputeMs: Record<number, number>;
  /** Optimizer update ms per byte of weights (Adam on this machine). */
  updateMsPerWeightByte: number;
  /** Batches simulated (fill and drain included once). */
  batches: number;
}

export interface ScalingRow {
  workers: number;
  link: string;
  pipe2bwSamplesPerSec: number;
  dataParallelSamplesPerSec: number;
  /** Bottleneck stage's share of the per-microbatch work: 1 / d for a perfect cut. */
  bottleneckShare: number;
}

/** 2BW and data-parallel throughput for every worker count and link (see the module comment). */
export function predictScaling(
  input: ScalingInput,
  workers: number[],
  links: { name: string; link: LinkSpec }[],
): ScalingRow[] {
  const { layers, microbatches: m, batches } = input;
  const rows = input.microbatchRows * m;
  const weightBytes = layers.reduce((a, l) => a + l.weightBytes, 0);
  const total = layers.reduce((a, l) => a + l.fwdMs + l.bwdMs, 0);
  const costs: LayerCost[] = layers.map((l) => ({
    name: l.name,
    timeMs: l.fwdMs + l.bwdMs,
    weightBytes: l.weightBytes,
    activationBytes: 0,
    outputBytes: l.outputBytes,
  }));
  const out: ScalingRow[] = [];
  for (const d of workers) {
    const compute = input.dataParallelComputeMs[d];
    if (!(compute > 0))
      throw new Error(`predictScaling: no data-parallel compute time for ${d} workers`);
    const plan = planPipeline(costs, { stages: d, microbatches: m, mode: '2bw' });
    const stages: SimStage[] = plan.stages.map((s) => {
      const ls = layers.slice(s.start, s.end);
      return {
        fwdMs: ls.reduce((a, l) => a + l.fwdMs, 0),
        bwdMs: ls.reduce((a, l) => a + l.bwdMs, 0),
        updateMs: ls.reduce((a, l) => a + l.weightBytes, 0) * input.updateMsPerWeightByte,
        outputBytes: ls[ls.length - 1].outputBytes,
      };
    });
    for (const { name, link } of links) {
      const pipe = simulatePipeline({ mode: '2bw', stages, microbatches: m, batches, link });
      const dp = simulateDataParallel({
        workers: d,
        computeMs: compute,
        gradientBytes: weightBytes,
        // The optimizer is sharded: each worker updates 1 / d of the weights.
        updateMs: (weightBytes * input.updateMsPerWeightByte) / d,
        batches,
        link,
      });
      out.push({
        workers: d,
        link: name,
        pipe2bwSamplesPerSec: (rows * 1000) / pipe.msPerBatch,
        dataParallelSamplesPerSec: (rows * 1000) / dp.msPerBatch,
        bottleneckShare: plan.bottleneckMs / total,
      });
    }
  }
  return out;
}
