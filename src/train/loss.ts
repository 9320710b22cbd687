import * as tf from '@tensorflow/tfjs';

/**
 * What a model's output is, and so which loss trains it:
 * - 'logits': unnormalised scores; softmax cross-entropy (the softmax is part of the loss).
 * - 'probabilities': a distribution per sample (a softmax output); cross-entropy on the
 *   probabilities themselves, -sum(y log p) with p floored at PROBABILITY_FLOOR.
 * - 'mse': regression; mean squared error between outputs and targets.
 * - 'auto' (default): 'probabilities' when the model's output layer ends in softmax (a layer with
 *   `activation: 'softmax'`, an `Activation('softmax')` or a `Softmax` layer), 'logits' when it
 *   ends linear (or in a layer whose activation cannot be read); any other output activation
 *   (sigmoid, relu, ...) is refused with a message asking for an explicit choice.
 */
export const LOSSES = ['auto', 'logits', 'probabilities', 'mse'] as const;
export type LossName = (typeof LOSSES)[number];
export type ResolvedLossName = Exclude<LossName, 'auto'>;

/**
 * Floor of the probabilities whose log 'probabilities' takes. Below it the loss is flat (no
 * gradient); above it the gradient through the model's softmax is exactly that of softmax
 * cross-entropy on the logits (p - y), so a softmax-output model trains like its logits twin
 * until a target probability falls under 1e-30 (a loss of 69 nats on that sample). Keras floors
 * at 1e-7, which stops the gradient of every sample whose target probability is below 1e-7.
 * Returning logits (and loss 'logits') remains the numerically safest choice.
 */
export const PROBABILITY_FLOOR = 1e-30;

/** A training loss between targets `ys` and model outputs. */
export interface Loss {
  name: ResolvedLossName;
  /** The batch-mean loss (what a step differentiates). */
  mean(ys: tf.Tensor, outputs: tf.Tensor): tf.Scalar;
  /** The summed per-sample loss of the batch (evaluation adds these up over a split). */
  sum(ys: tf.Tensor, outputs: tf.Tensor): tf.Scalar;
}

/** -sum(y log max(p, floor)) per sample. */
function probabilityCrossEntropy(ys: tf.Tensor, p: tf.Tensor): tf.Tensor {
  return tf.neg(tf.sum(tf.mul(ys, tf.log(tf.maximum(p, PROBABILITY_FLOOR))), -1));
}

const IMPLEMENTATIONS: Record<ResolvedLossName, Omit<Loss, 'name'>> = {
  logits: {
    mean: (ys, logits) => tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar,
    sum: (ys, logits) =>
      tf.losses.softmaxCrossEntropy(
        ys,
        logits,
        undefined,
        undefined,
        tf.Reduction.SUM,
      ) as tf.Scalar,
  },
  probabilities: {
    mean: (ys, p) => tf.mean(probabilityCrossEntropy(ys, p)) as tf.Scalar,
    sum: (ys, p) => tf.sum(probabilityCrossEntropy(ys, p)) as tf.Scalar,
  },
  mse: {
    mean: (ys, out) => tf.losses.meanSquaredError(ys, out) as tf.Scalar,
    sum: (ys, out) => tf.sum(tf.mean(tf.squaredDifference(out, ys), -1)) as tf.Scalar,
  },
};

export function lossByName(name: ResolvedLossName): Loss {
  return { name, ...IMPLEMENTATIONS[name] };
}

/** Mean softmax cross-entropy between one-hot labels and logits (the 'logits' loss). */
export function classificationLoss(ys: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return IMPLEMENTATIONS.logits.mean(ys, logits);
}

/**
 * The activation that ends a model's output: 'softmax', 'linear', another activation's name, or
 * null when the output layer does not say (a layer without an `activation` in its config).
 */
export function outputActivation(model: tf.LayersModel): string | null {
  const layer = model.outputs[0]?.sourceLayer;
  if (!layer) return null;
  if (layer.getClassName() === 'Softmax') return 'softmax';
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof activation === 'string' ? activation : null;
}

function describeOutput(model: tf.LayersModel, activation: string): string {
  const layer = model.outputs[0].sourceLayer;
  return `the model's output layer '${layer.name}' (${layer.getClassName()}) ends in ${activation}`;
}

/**
 * The loss for `model` given `name` ('auto' resolved as described at LOSSES). Refuses a choice the
 * model's output contradicts: 'logits' on a softmax output (the loss would apply softmax twice),
 * 'probabilities' on a linear output (log of values that are not probabilities), a model with
 * several outputs, and with `numClasses` an output whose last dimension differs from it.
 */
export function resolveLoss(
  model: tf.LayersModel,
  name: LossName | Loss = 'auto',
  numClasses?: number,
): Loss {
  if (model.outputs.length !== 1)
    throw new Error(
      `loss: the model has ${model.outputs.length} outputs; training takes a model with one output`,
    );
  if (numClasses !== undefined) {
    const width = model.outputs[0].shape[model.outputs[0].shape.length - 1];
    if (width != null && width !== numClasses)
      throw new Error(
        `loss: the model's output has ${width} values per sample but the data has ${numClasses} classes`,
      );
  }
  if (typeof name !== 'string') return name;
  if (!(LOSSES as readonly string[]).includes(name))
    throw new Error(`loss must be one of ${LOSSES.join(', ')}, got ${JSON.stringify(name)}`);
  const activation = outputActivation(model);
  if (name === 'auto') {
    if (activation === 'softmax') return lossByName('probabilities');
    if (activation === null || activation === 'linear') return lossByName('logits');
    throw new Error(
      `loss 'auto': ${describeOutput(model, activation)}, which is neither logits (linear) nor softmax probabilities: set loss to 'logits', 'probabilities' or 'mse'`,
    );
  }
  if (name === 'logits' && activation === 'softmax')
    throw new Error(
      `loss 'logits': ${describeOutput(model, 'softmax')}, so its outputs are probabilities and the loss would apply softmax twice: use loss 'probabilities' (or 'auto')`,
    );
  if (name === 'probabilities' && activation === 'linear')
    throw new Error(
      `loss 'probabilities': ${describeOutput(model, 'a linear activation')}, so its outputs are not probabilities: use loss 'logits' (or 'auto')`,
    );
  return lossByName(name);
}

/**
 * How to read `model`'s output as logits, for losses that need logits themselves (distillation's
 * softened distributions): a linear output is already logits; a softmax output p gives log p,
 * which is logits up to a per-row constant (softmax(log p) = p; p floored at PROBABILITY_FLOOR).
 * Any other output (sigmoid, relu, ...) is refused, with `what` naming the caller.
 */
export function outputLogits(model: tf.LayersModel, what: string): (out: tf.Tensor) => tf.Tensor {
  const activation = outputActivation(model);
  if (activation === 'softmax') return (p) => tf.log(tf.maximum(p, PROBABILITY_FLOOR));
  if (activation === null || activation === 'linear') return (out) => out;
  throw new Error(
    `${what}: ${describeOutput(model, activation)}, which is neither logits (linear) nor softmax probabilities`,
  );
}
