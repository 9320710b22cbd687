import * as tf from '@tensorflow/tfjs';

export interface DataFreeOptions {
  count: number;
  steps?: number;
  learningRate?: number;
  seed?: number;
}

interface BnTarget {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function bnTarget(layer: tf.layers.Layer): BnTarget {
  const cfg = layer.getConfig();
  const w = layer.getWeights();
  const skip = (cfg.scale === false ? 0 : 1) + (cfg.center === false ? 0 : 1);
  return { mean: w[skip] as tf.Tensor1D, variance: w[skip + 1] as tf.Tensor1D };
}

/** Mismatch between the batch statistics of the batch-norm inputs and their running stats. */
export function batchNormStatLoss(acts: tf.Tensor[], targets: BnTarget[]): tf.Scalar {
  return tf.tidy(() => {
    let total = tf.scalar(0);
    acts.forEach((a, i) => {
      const axes = Array.from({ length: a.rank - 1 }, (_, d) => d);
      const { mean, variance } = tf.moments(a, axes);
      const t = targets[i];
      total = tf.add(
        total,
        tf.add(
          tf.mean(tf.squaredDifference(mean, t.mean)),
          tf.mean(tf.squaredDifference(variance, t.variance)),
        ),
      );
    });
    return total as tf.Scalar;
  });
}

/**
 * Data-free calibration (ZeroQ-style): synthesise inputs whose per-layer batch statistics at every
 * batch-norm layer match its stored running mean and variance, by Adam on the inputs. Returns
 * the inputs and the loss before and after.
 */
export function synthesizeInputs(
  model: tf.LayersModel,
  options: DataFreeOptions,
): { inputs: tf.Tensor; initialLoss: number; finalLoss: number } {
  const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  if (bns.length === 0) {
    throw new Error(
      'no calibration data: pass calibration inputs or a data set (the model has no batch-norm layers to synthesise inputs from)',
    );
  }
  const targets = bns.map(bnTarget);
  const probe = tf.model({
    inputs: model.inputs,
    outputs: bns.map((l) => l.input as tf.SymbolicTensor),
  });
  const shape = [options.count, ...(model.inputs[0].shape.slice(1) as number[])];
  const x = tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', options.seed ?? 0)));
  const loss = () => {
    const out = probe.apply(x, { training: false });
    return batchNormStatLoss(
      Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor],
      targets,
    );
  };
  const initialLoss = tf.tidy(() => loss().dataSync()[0]);
  const optimizer = tf.train.adam(options.learningRate ?? 0.05);
  for (let s = 0; s < (options.steps ?? 100); s++) {
    tf.tidy(() => {
      optimizer.minimize(loss, false, [x]);
    });
  }
  const finalLoss = tf.tidy(() => loss().dataSync()[0]);
  optimizer.dispose();
  const inputs = x.clone();
  x.dispose();
  return { inputs, initialLoss, finalLoss };
}

/** Calibration inputs synthesised from batch-norm statistics (see `synthesizeInputs`). */
export function synthesizeFromBatchNorm(
  model: tf.LayersModel,
  options: DataFreeOptions,
): tf.Tensor {
  return synthesizeInputs(model, options).inputs;
}
