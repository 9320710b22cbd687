// `frugal train --pipeline 2bw|flush|gpipe --stages N --microbatches M`: parsing and validation
// (before any work), and the run's record in the report.
import { PIPELINE_MODES, type PipelineMode } from '../../pipeline/schedule.js';

export const PIPELINE_HELP = `pipelined training: the model cut into --stages stages on worker threads, each batch split into --microbatches; ${PIPELINE_MODES.join(', ')} (2bw: PipeDream-2BW, double-buffered weights, updates one step stale; flush/gpipe: plain training with gradient accumulation)`;

export interface PipelineCliOptions {
  pipeline?: PipelineMode;
  stages?: number;
  microbatches?: number;
  workers?: number;
  threads?: number;
  parallel?: string;
  batch: number;
}

/** What the report records of a pipelined run. */
export interface PipelineReport {
  schedule: PipelineMode;
  stages: number;
  microbatches: number;
}

/**
 * Checks the pipeline options; `plainForward`: no --act-*, --memory-budget, --grad-sparsity, --low-precision, recipe or time budget
 * (stage workers run the model's plain layers). Returns the pipeline of the run, or undefined.
 */
export function checkPipelineOptions(
  o: PipelineCliOptions,
  plainForward: boolean,
): PipelineReport | undefined {
  if (o.pipeline === undefined) {
    for (const [flag, v] of [
      ['--stages', o.stages],
      ['--microbatches', o.microbatches],
    ] as const)
      if (v !== undefined)
        throw new Error(`${flag} ${v} applies to --pipeline: give --pipeline 2bw or drop ${flag}`);
    return undefined;
  }
  if (!(PIPELINE_MODES as readonly string[]).includes(o.pipeline))
    throw new Error(
      `--pipeline must be one of ${PIPELINE_MODES.join(', ')}, got ${JSON.stringify(o.pipeline)}`,
    );
  if ((o.workers ?? 1) > 1 || o.threads !== undefined || o.parallel !== undefined)
    throw new Error(
      '--pipeline runs one worker per stage: drop --workers, --threads and --parallel',
    );
  if (!plainForward)
    throw new Error(
      '--pipeline cannot be combined with --act-* options, --memory-budget, --grad-sparsity, --low-precision, a recipe or --time-budget yet: the stage workers take plain steps',
    );
  const stages = o.stages ?? 2;
  if (stages < 2)
    throw new Error(`--stages ${stages} is no pipeline: give 2 or more, or drop --pipeline`);
  const microbatches = o.microbatches ?? stages;
  if (microbatches > o.batch)
    throw new Error(
      `--microbatches ${microbatches} is more than the ${o.batch} rows of a batch (--batch): give at most ${o.batch}`,
    );
  return { schedule: o.pipeline, stages, microbatches };
}
