import * as tf from '@tensorflow/tfjs';
import { OPTIMIZERS } from '../optimizer.js';
import type { OptimizerSpec } from './protocol.js';

/**
 * Checks that workers can build `optimizer` and copy `model` (float32 weights only); `who` (the
 * trainer) starts each error message.
 */
export function checkReplicable(
  who: string,
  model: tf.LayersModel,
  optimizer: OptimizerSpec,
): void {
  const { name, learningRate } = optimizer;
  if (!(OPTIMIZERS as readonly string[]).includes(name))
    throw new Error(
      `${who}: optimizer.name must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(name)}`,
    );
  if (typeof learningRate !== 'number' || !(learningRate > 0) || !Number.isFinite(learningRate))
    throw new Error(
      `${who}: optimizer.learningRate must be a positive number, got ${JSON.stringify(learningRate)}`,
    );
  for (const w of model.weights)
    if (w.dtype !== 'float32')
      throw new Error(
        `${who}: weight '${w.name}' is ${w.dtype}; only float32 weights are supported`,
      );
}

/** The model's topology and weights as save() produces them, kept in memory (for a worker's copy). */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('the model could not be serialised');
  return artifacts;
}

/** Sets every weight of `model` (in `model.weights` order) from values a worker sent back. */
export function setWeightValues(model: tf.LayersModel, values: Float32Array[]): void {
  if (values.length !== model.weights.length)
    throw new Error(`expected ${model.weights.length} weight arrays, got ${values.length}`);
  const tensors = values.map((v, i) => tf.tensor(v, model.weights[i].read().shape, 'float32'));
  model.setWeights(tensors);
  tf.dispose(tensors);
}
