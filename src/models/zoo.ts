import type * as tf from '@tensorflow/tfjs';
import { buildCnn, type CnnConfig } from './cnn.js';
import { buildMlp, type MlpConfig } from './mlp.js';
import { buildOdenet, type OdenetConfig } from './odenet.js';
import { buildResnet, type ResnetConfig } from './resnet.js';
import { buildTransformer, type TransformerConfig } from './transformer.js';
import { buildVit, type VitConfig } from './vit/vit.js';

export const ZOO_MODELS = ['mlp', 'cnn', 'resnet', 'transformer', 'odenet', 'vit'] as const;
export type ZooModelName = (typeof ZOO_MODELS)[number];

export interface ZooConfigs {
  mlp: MlpConfig;
  cnn: CnnConfig;
  resnet: ResnetConfig;
  transformer: TransformerConfig;
  odenet: OdenetConfig;
  vit: VitConfig;
}

/** Input layout each zoo model expects: images [h, w, c] or sequences [length, features]. */
export const ZOO_LAYOUT: Record<ZooModelName, 'image' | 'sequence'> = {
  mlp: 'image',
  cnn: 'image',
  resnet: 'image',
  transformer: 'sequence',
  odenet: 'image',
  vit: 'image',
};

export function isZooModel(name: string): name is ZooModelName {
  return (ZOO_MODELS as readonly string[]).includes(name);
}

const BUILDERS: { [K in ZooModelName]: (config: ZooConfigs[K]) => tf.LayersModel } = {
  mlp: buildMlp,
  cnn: buildCnn,
  resnet: buildResnet,
  transformer: buildTransformer,
  odenet: buildOdenet,
  vit: buildVit,
};

/** Builds a zoo model by name from its config object. */
export function buildModel<K extends ZooModelName>(name: K, config: ZooConfigs[K]): tf.LayersModel {
  if (!isZooModel(name))
    throw new Error(`Unknown model '${String(name)}': choose one of ${ZOO_MODELS.join(', ')}`);
  const build: (config: ZooConfigs[K]) => tf.LayersModel = BUILDERS[name];
  return build(config);
}
