import * as tf from '@tensorflow/tfjs';
import { BufferMeter } from './buffer-meter.js';
import { externalMemory } from './external-memory.js';

/** Live bytes right after one event of a run. */
export interface TimelineEvent {
  /** Position of the event in the run (0 = first). */
  index: number;
  /** The kernel that just ran, or 'external' when JS scratch memory was just taken. */
  kernel: string;
  /** Shapes of the kernel's outputs (empty for external events). */
  shapes: number[][];
  /** tfjs buffers allocated minus freed since the run started (each buffer once). */
  tensorBytes: number;
  /** Tracked external (JS) bytes above what was live when the run started. */
  externalBytes: number;
}

export interface PeakTimeline<T> {
  result: T;
  /** Highest tensorBytes + externalBytes seen after any event. */
  peakBytes: number;
  /** The event at which the peak was reached (null when nothing ran). */
  peak: TimelineEvent | null;
  /** The `context` events up to and including the peak: what built it up. */
  leadUp: TimelineEvent[];
  /** Number of events recorded. */
  events: number;
}

interface KernelRunner {
  runKernel(name: string, inputs: unknown, attrs?: unknown): tf.Tensor | tf.Tensor[];
}

function shapesOf(out: tf.Tensor | tf.Tensor[]): number[][] {
  return (Array.isArray(out) ? out : [out]).map((t) => t.shape.slice());
}

/**
 * Runs `f` and finds where its memory peaks: after every kernel (and every time JS scratch memory
 * is taken) it samples the live bytes (tfjs buffers counted once, as `BufferMeter` does, plus
 * tracked external memory) and keeps the peak and the `context` events that led to it. Use it to
 * see which part of a training step sets the peak. Kernels that tfjs runs without going through
 * `engine.runKernel` (none in tfjs 4's ops) would only show up in the next event.
 */
export function peakTimeline<T>(f: () => T, context = 12): PeakTimeline<T> {
  if (!Number.isInteger(context) || context < 1)
    throw new Error(`peakTimeline: context must be a positive integer, got ${context}`);
  const engine = tf.engine() as unknown as KernelRunner;
  const meter = new BufferMeter();
  const ext0 = externalMemory.live;
  const recent: TimelineEvent[] = [];
  let peak: TimelineEvent | null = null;
  let leadUp: TimelineEvent[] = [];
  let peakBytes = 0;
  let count = 0;
  const record = (kernel: string, shapes: number[][]) => {
    const e: TimelineEvent = {
      index: count++,
      kernel,
      shapes,
      tensorBytes: meter.current,
      externalBytes: externalMemory.live - ext0,
    };
    recent.push(e);
    if (recent.length > context) recent.shift();
    const live = e.tensorBytes + e.externalBytes;
    if (peak === null || live > peakBytes) {
      peakBytes = live;
      peak = e;
      leadUp = recent.slice();
    }
  };
  const origRun = engine.runKernel;
  const origTrack = externalMemory.track;
  engine.runKernel = (name, inputs, attrs) => {
    const out = origRun.call(engine, name, inputs, attrs);
    record(name, shapesOf(out));
    return out;
  };
  externalMemory.track = (bytes: number) => {
    origTrack.call(externalMemory, bytes);
    record('external', []);
  };
  try {
    const result = meter.run(f);
    return { result, peakBytes, peak, leadUp, events: count };
  } finally {
    engine.runKernel = origRun;
    externalMemory.track = origTrack;
  }
}

/** One line per lead-up event: index, kernel, output shapes, live MB (tensors + external). */
export function formatTimeline(t: PeakTimeline<unknown>): string {
  const mb = (b: number) => (b / 1e6).toFixed(2);
  return t.leadUp
    .map(
      (e) =>
        `${e.index === t.peak?.index ? '*' : ' '} #${e.index} ${e.kernel} ${e.shapes.map((s) => `[${s}]`).join(' ')} ` +
        `${mb(e.tensorBytes + e.externalBytes)} MB (tensors ${mb(e.tensorBytes)}, js ${mb(e.externalBytes)})`,
    )
    .join('\n');
}
