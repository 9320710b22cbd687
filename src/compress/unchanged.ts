import type * as tf from '@tensorflow/tfjs';

/**
 * Whether two models are the same layers (names, classes, configs) with bitwise-equal weights:
 * what a compression step that found nothing to do returns.
 */
export function sameModel(a: tf.LayersModel, b: tf.LayersModel): boolean {
  if (a.layers.length !== b.layers.length) return false;
  for (const [i, la] of a.layers.entries()) {
    const lb = b.layers[i];
    if (la.name !== lb.name || la.getClassName() !== lb.getClassName()) return false;
    if (JSON.stringify(la.getConfig()) !== JSON.stringify(lb.getConfig())) return false;
    const wa = la.getWeights();
    const wb = lb.getWeights();
    if (wa.length !== wb.length) return false;
    for (const [j, w] of wa.entries()) {
      if (w.shape.join() !== wb[j].shape.join() || w.dtype !== wb[j].dtype) return false;
      const x = w.dataSync();
      const y = wb[j].dataSync();
      for (let k = 0; k < x.length; k++) if (!Object.is(x[k], y[k])) return false;
    }
  }
  return true;
}

/** The warning for a step that changed nothing, naming what the method acts on. */
export function unchangedWarning(
  where: string,
  appliesTo: string | undefined,
  notes: Record<string, string>,
): string {
  const seen = Object.entries(notes).map(([layer, note]) => `${layer}: ${note}`);
  return `${where} changed nothing${appliesTo ? `: it acts on ${appliesTo}, and the config reaches none in this model` : ''}${seen.length > 0 ? ` (${seen.join('; ')})` : ''}`;
}
