import * as tf from '@tensorflow/tfjs';
import { externalMemory } from './external-memory.js';

interface EngineInternals {
  trackTensor(a: tf.Tensor, backend: unknown): void;
  removeDataId(dataId: object, backend: unknown): void;
  state: { tensorInfo: WeakMap<object, { bytes: number }> };
}

/**
 * Counts the bytes of tfjs data buffers allocated and freed while it is running, each buffer
 * once. tfjs's own `numBytes` (and so `tf.profile().peakBytes`) counts every tensor, so a reshape
 * view of a buffer is counted twice although no memory is added; this meter counts what the
 * backend really holds. It wraps the engine's buffer bookkeeping for the duration of `run`.
 */
export class BufferMeter {
  private delta = 0;
  private peakDelta = 0;
  private peakTotal = 0;

  /** Bytes allocated minus bytes freed since `run` started. */
  get current(): number {
    return this.delta;
  }

  /** Highest value `current` reached. */
  get peak(): number {
    return this.peakDelta;
  }

  /**
   * Highest value of `current` plus the external bytes (`externalMemory`) tracked since `run`
   * started, at the same moment: the true peak when a step holds both kinds of memory, where
   * adding the two separate peaks would overstate it.
   */
  get peakWithExternal(): number {
    return this.peakTotal;
  }

  run<T>(f: () => T): T {
    const ext0 = externalMemory.live;
    const update = () => {
      const total = this.delta + externalMemory.live - ext0;
      if (total > this.peakTotal) this.peakTotal = total;
    };
    const unwatch = externalMemory.watch(update);
    const engine = tf.engine() as unknown as EngineInternals;
    const info = engine.state.tensorInfo;
    const origTrack = engine.trackTensor;
    const origRemove = engine.removeDataId;
    engine.trackTensor = (a, backend) => {
      const fresh = !info.has(a.dataId);
      origTrack.call(engine, a, backend);
      if (fresh) {
        this.delta += info.get(a.dataId)?.bytes ?? 0;
        if (this.delta > this.peakDelta) this.peakDelta = this.delta;
        update();
      }
    };
    engine.removeDataId = (dataId, backend) => {
      const bytes = info.get(dataId)?.bytes ?? 0;
      origRemove.call(engine, dataId, backend);
      if (!info.has(dataId)) this.delta -= bytes;
    };
    try {
      return f();
    } finally {
      engine.trackTensor = origTrack;
      engine.removeDataId = origRemove;
      unwatch();
    }
  }
}
