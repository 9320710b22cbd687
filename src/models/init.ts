import * as tf from '@tensorflow/tfjs';

/** Hands out seeded initializers so that a model built twice with one seed has the same weights. */
export class SeededInit {
  private next: number;
  constructor(seed: number) {
    this.next = seed * 1000 + 1;
  }
  glorot(): tf.serialization.Serializable & ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.next++ });
  }
  he(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.next++ });
  }
  normal(stddev: number): ReturnType<typeof tf.initializers.randomNormal> {
    return tf.initializers.randomNormal({ mean: 0, stddev, seed: this.next++ });
  }
}

export function checkPositiveInt(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${what} must be a positive integer, got ${String(v)}`);
  }
}
