import { ZOO_LAYOUT, ZOO_MODELS, type ZooModelName } from '../../src/models/zoo.js';
import { argValue } from './args.js';

/** A zoo model's MNIST-shaped input: [28, 28, 1] images, or [28, 28] (rows as a sequence). */
export function mnistShape(model: ZooModelName): number[] {
  return ZOO_LAYOUT[model] === 'image' ? [28, 28, 1] : [28, 28];
}

/** The zoo models named by `--models a,b` (default: all of them), each checked. */
export function zooModelsArg(): ZooModelName[] {
  const models = argValue('models', ZOO_MODELS.join(','))
    .split(',')
    .map((m) => m.trim()) as ZooModelName[];
  for (const m of models)
    if (!ZOO_MODELS.includes(m))
      throw new Error(`--models: unknown model '${m}' (zoo: ${ZOO_MODELS.join(', ')})`);
  return models;
}
