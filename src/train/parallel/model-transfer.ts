import * as tf from '@tensorflow/tfjs';

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
