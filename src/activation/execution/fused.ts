import * as tf from '@tensorflow/tfjs';

interface EngineState {
  state: { gradientDepth: number };
}

/**
 * Runs `f` with tfjs's gradient depth at 0. tfjs only fuses conv/matmul + bias + activation into
 * one kernel when no gradient is being recorded (`shouldFuse`); inside a customGrad forward
 * nothing is recorded anyway (the kernel depth is above 0), so the fused kernel is safe there and
 * avoids two full-size temporaries per layer.
 */
export function outsideGradient<T>(f: () => T): T {
  const engine = tf.engine() as unknown as EngineState;
  const depth = engine.state.gradientDepth;
  engine.state.gradientDepth = 0;
  try {
    return f();
  } finally {
    engine.state.gradientDepth = depth;
  }
}
