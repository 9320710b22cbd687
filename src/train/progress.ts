/** Events the training loop reports; the CLI draws its progress bar from them. */
export type TrainProgress =
  | { kind: 'epoch-start'; epoch: number; epochs: number; steps: number }
  | { kind: 'step'; epoch: number; step: number; steps: number; loss: number; stepMs: number }
  | {
      kind: 'epoch-end';
      epoch: number;
      epochs: number;
      meanLoss: number;
      testAccuracy: number;
      seconds: number;
    };

export type ProgressCallback = (event: TrainProgress) => void;

/**
 * Progress of long work that is not the training loop: profiling a model for a memory plan,
 * sensitivity probes of mixed precision, benchmark steps, gradient-error passes. A task reports
 * `done: 0` when it starts and `done: total` when it ends, with one event per unit between.
 * Library functions only call the callback; the CLI draws the line (`src/cli/task-progress.ts`).
 */
export interface TaskProgress {
  /** What is being done, e.g. 'profiling 9 stages (whole blocks)'. */
  task: string;
  /** Units finished so far, 0..total. */
  done: number;
  total: number;
  /** The unit just finished (a stage or layer name), when there is one. */
  item?: string;
}

export type TaskProgressCallback = (event: TaskProgress) => void;
