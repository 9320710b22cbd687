import * as tf from '@tensorflow/tfjs';

export interface SavedSize {
  /** Bytes of model.json as frugal's saveModel writes it. */
  modelJsonBytes: number;
  weightBytes: number;
  totalBytes: number;
}

/** Serialises the model in memory exactly as a save does and counts the bytes. */
export async function savedSize(model: tf.LayersModel): Promise<SavedSize> {
  let size: SavedSize | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData
        ? tf.io.concatenateArrayBuffers(Array.isArray(a.weightData) ? a.weightData : [a.weightData])
        : new ArrayBuffer(0);
      const json = JSON.stringify({
        modelTopology: a.modelTopology,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs ?? [] }],
      });
      const modelJsonBytes = new TextEncoder().encode(json).byteLength;
      size = {
        modelJsonBytes,
        weightBytes: data.byteLength,
        totalBytes: modelJsonBytes + data.byteLength,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!size) throw new Error('saving the model produced no artifacts');
  return size;
}
