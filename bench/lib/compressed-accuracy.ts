import type { ActConfig } from '../../src/activation/config.js';
import { compressForTraining } from '../../src/activation/training.js';
import type { ClassificationData } from '../../src/data/dataset.js';
import { buildModel } from '../../src/models/zoo.js';
import type { TrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';

/**
 * Test accuracy of the zoo CNN (initial weights from `seed`) trained on `data` with compressed
 * activations (`config`, warnings silenced) under `schedule` at `seed`; frees what it builds.
 */
export async function compressedCnnAccuracy(
  data: ClassificationData,
  config: Partial<ActConfig>,
  schedule: Partial<TrainConfig>,
  seed: number,
): Promise<number> {
  const base = buildModel('cnn', { inputShape: data.sampleShape, numClasses: 10, seed });
  const m = await compressForTraining(base, config, data, { warn: () => {} });
  base.dispose();
  const res = await train(
    m.model,
    data,
    { ...schedule, seed },
    {
      forward: m.forward,
      onProgress: (e) => {
        if (e.kind === 'step') m.afterStep();
      },
    },
  );
  m.model.dispose();
  m.dispose();
  return res.testAccuracy;
}
