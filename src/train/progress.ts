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
