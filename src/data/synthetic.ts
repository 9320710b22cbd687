import { makeRng, normal } from '../engine/random.js';
import { defaultSeed } from '../engine/settings.js';
import { type ClassificationData, type Split, sampleSize } from './dataset.js';

export interface SyntheticOptions {
  sampleShape?: number[];
  numClasses?: number;
  trainCount?: number;
  testCount?: number;
  seed?: number;
  /** Standard deviation of the noise around each class centre. */
  noise?: number;
}

/**
 * Gaussian blobs: each class has a random centre in sample space; samples are centre + noise.
 * Learnable in a few steps by any zoo model; used by fast tests.
 */
export function syntheticClassification(options: SyntheticOptions = {}): ClassificationData {
  const sampleShape = options.sampleShape ?? [8, 8, 1];
  const numClasses = options.numClasses ?? 4;
  const noise = options.noise ?? 0.5;
  for (const d of sampleShape) {
    if (!Number.isInteger(d) || d < 1)
      throw new Error(`sample shape must hold positive integers, got [${sampleShape}]`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new Error(`numClasses must be an integer >= 2, got ${numClasses}`);
  const per = sampleSize(sampleShape);
  const rng = makeRng(options.seed ?? defaultSeed());
  const centres = Float32Array.from({ length: numClasses * per }, () => normal(rng));
  const make = (count: number): Split => {
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`sample count must be a positive integer, got ${count}`);
    const x = new Float32Array(count * per);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(rng() * numClasses);
      y[i] = c;
      for (let j = 0; j < per; j++) x[i * per + j] = centres[c * per + j] + noise * normal(rng);
    }
    return { x, y, count };
  };
  return {
    name: 'synthetic',
    sampleShape,
    numClasses,
    train: make(options.trainCount ?? 256),
    test: make(options.testCount ?? 128),
  };
}
