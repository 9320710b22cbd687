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

/** Builds a zoo model by name from its config object. */
export function buildModel<K extends ZooModelName>(name: K, config: ZooConfigs[K]): tf.LayersModel {
  switch (name) {
    case 'mlp':
      return buildMlp(config as MlpConfig);
    case 'cnn':
      return buildCnn(config as CnnConfig);
    case 'resnet':
      return buildResnet(config as ResnetConfig);
    case 'transformer':
      return buildTransformer(config as TransformerConfig);
    case 'odenet':
      return buildOdenet(config as OdenetConfig);
    case 'vit':
      return buildVit(config as VitConfig);
    default:
      throw new Error(`Unknown model '${String(name)}': choose one of ${ZOO_MODELS.join(', ')}`);
  }
}
