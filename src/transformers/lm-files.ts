import type * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../io/model-files.js';
import { lmShape } from './lm.js';
import { ByteTokenizer } from './tokenizer.js';

const META_KEY = 'frugalLm';

/** Saves a language model with its tokenizer (in model.json's userDefinedMetadata). */
export async function saveLm(
  model: tf.LayersModel,
  tokenizer: ByteTokenizer,
  dir: string,
): Promise<void> {
  const { vocabSize } = lmShape(model);
  if (tokenizer.vocabSize !== vocabSize)
    throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens, the model ${vocabSize}`);
  model.setUserDefinedMetadata({ [META_KEY]: { tokenizer: tokenizer.toJSON() } });
  await saveModel(model, dir);
}

/** Loads a model saved by `saveLm` and its tokenizer. */
export async function loadLm(
  dir: string,
): Promise<{ model: tf.LayersModel; tokenizer: ByteTokenizer }> {
  const model = await loadModel(dir);
  const meta = model.getUserDefinedMetadata() as
    | Record<string, { tokenizer?: unknown }>
    | undefined;
  const lm = meta?.[META_KEY];
  if (!lm?.tokenizer) {
    model.dispose();
    throw new Error(
      `${dir}: not a frugal language model (model.json has no ${META_KEY} tokenizer metadata; save with saveLm)`,
    );
  }
  lmShape(model);
  return { model, tokenizer: ByteTokenizer.fromJSON(lm.tokenizer) };
}
