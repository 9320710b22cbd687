// Moving MNIST digits: a small, deterministic video task for the 3D convolutions of issue 15.
// Every video is one real digit of the `mnist` package (optionally halved to 14x14) moving in a
// straight line over `frames` frames of a blank square canvas, `speed` pixels per frame in one of
// eight directions, never leaving the canvas (so every frame holds the whole digit). The label is
// the direction (8 classes, needs temporal information: one frame cannot tell it) or the digit
// (10 classes). Train and test videos use disjoint digit images (loadMnist's split).
import { makeRng } from '../engine/random.js';
import { defaultSeed } from '../engine/settings.js';
import type { ClassificationData, Split } from './dataset.js';
import { loadMnist } from './mnist.js';

/** The eight directions [dy, dx] (rows down, columns right), indexed by the 'direction' label. */
export const MOVING_DIRECTIONS: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 1],
  [1, 0],
  [1, -1],
  [0, -1],
  [-1, -1],
  [-1, 0],
  [-1, 1],
];

export const MOVING_LABELS = ['direction', 'digit'] as const;
export type MovingLabel = (typeof MOVING_LABELS)[number];

export interface MovingMnistOptions {
  /** Videos in the training set (default 2000). */
  trainCount?: number;
  /** Videos in the test set (default 500). */
  testCount?: number;
  /** Frames per video (default 6). */
  frames?: number;
  /** Side of the square canvas in pixels (default 20). */
  canvas?: number;
  /** Side of the digit: 28 (as shipped) or 14 (2x2 averages), default 14. */
  digitSize?: 14 | 28;
  /** Pixels moved per frame along each moving axis (default 1). */
  speed?: number;
  /** What the class is: the direction (default) or the digit. */
  label?: MovingLabel;
  seed?: number;
}

export interface MovingMnistData extends ClassificationData {
  /** Per video of each split: the start [row, col] of the digit's top-left corner and its direction index. */
  motion: { train: MovingPath[]; test: MovingPath[] };
}

export interface MovingPath {
  start: [number, number];
  direction: number;
  digit: number;
}

function positiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`movingMnist: ${what} must be a positive integer, got ${v}`);
  return v;
}

/** A 28x28 digit halved to 14x14 by 2x2 averages, or copied. */
function digitImage(src: Float32Array, size: 14 | 28): Float32Array {
  if (size === 28) return src;
  const out = new Float32Array(14 * 14);
  for (let r = 0; r < 14; r++)
    for (let c = 0; c < 14; c++) {
      const i = 2 * r * 28 + 2 * c;
      out[r * 14 + c] = (src[i] + src[i + 1] + src[i + 28] + src[i + 29]) / 4;
    }
  return out;
}

/**
 * Writes one video [frames, canvas, canvas, 1] into `out` at `offset`: the digit (size x size)
 * with its top-left corner at start + t * speed * direction in frame t.
 */
export function renderMovingDigit(
  digit: Float32Array,
  size: number,
  path: { start: [number, number]; direction: number },
  geometry: { frames: number; canvas: number; speed: number },
  out: Float32Array,
  offset = 0,
): void {
  const { frames, canvas, speed } = geometry;
  const [dy, dx] = MOVING_DIRECTIONS[path.direction];
  for (let t = 0; t < frames; t++) {
    const r0 = path.start[0] + t * speed * dy;
    const c0 = path.start[1] + t * speed * dx;
    if (r0 < 0 || c0 < 0 || r0 + size > canvas || c0 + size > canvas)
      throw new Error(
        `movingMnist: frame ${t} would put the digit at [${r0}, ${c0}], off the canvas`,
      );
    const base = offset + t * canvas * canvas;
    for (let r = 0; r < size; r++)
      out.set(digit.subarray(r * size, (r + 1) * size), base + (r0 + r) * canvas + c0);
  }
}

/** Start coordinates along one axis that keep the digit on the canvas for the whole video. */
function startRange(d: number, travel: number, room: number): [number, number] {
  // positions start + t * d * speed for t in [0, frames): all within [0, room]
  return d > 0 ? [0, room - travel] : d < 0 ? [travel, room] : [0, room];
}

/**
 * The moving-digits video set (see the file comment): samples [frames, canvas, canvas, 1], values
 * in [0, 1]. The same options give the same videos.
 */
export function movingMnist(options: MovingMnistOptions = {}): MovingMnistData {
  const frames = positiveInt('frames', options.frames ?? 6);
  const canvas = positiveInt('canvas', options.canvas ?? 20);
  const speed = positiveInt('speed', options.speed ?? 1);
  const size = options.digitSize ?? 14;
  if (size !== 14 && size !== 28)
    throw new Error(`movingMnist: digitSize must be 14 or 28, got ${String(size)}`);
  const label = options.label ?? 'direction';
  if (!MOVING_LABELS.includes(label))
    throw new Error(
      `movingMnist: label must be one of ${MOVING_LABELS.join(', ')}, got ${JSON.stringify(label)}`,
    );
  const travel = speed * (frames - 1);
  if (canvas < size + travel)
    throw new Error(
      `movingMnist: a canvas of ${canvas} px cannot hold a ${size} px digit moving ${travel} px (${frames} frames at ${speed} px/frame): needs canvas >= ${size + travel}`,
    );
  const seed = options.seed ?? defaultSeed();
  const mnist = loadMnist({
    trainCount: options.trainCount ?? 2000,
    testCount: options.testCount ?? 500,
    seed,
  });
  const rng = makeRng(seed ^ 0x5eed);
  const per = frames * canvas * canvas;
  const room = canvas - size;
  const make = (digits: Split): { split: Split; paths: MovingPath[] } => {
    const x = new Float32Array(digits.count * per);
    const y = new Int32Array(digits.count);
    const paths: MovingPath[] = [];
    for (let i = 0; i < digits.count; i++) {
      const direction = Math.floor(rng() * MOVING_DIRECTIONS.length);
      const [dy, dx] = MOVING_DIRECTIONS[direction];
      const pick = ([lo, hi]: [number, number]) => lo + Math.floor(rng() * (hi - lo + 1));
      const start: [number, number] = [
        pick(startRange(dy, travel, room)),
        pick(startRange(dx, travel, room)),
      ];
      const img = digitImage(digits.x.subarray(i * 784, (i + 1) * 784), size);
      renderMovingDigit(img, size, { start, direction }, { frames, canvas, speed }, x, i * per);
      y[i] = label === 'direction' ? direction : digits.y[i];
      paths.push({ start, direction, digit: digits.y[i] });
    }
    return { split: { x, y, count: digits.count }, paths };
  };
  const train = make(mnist.train);
  const test = make(mnist.test);
  return {
    name: `moving mnist (${label}, ${frames} frames of ${canvas}x${canvas})`,
    sampleShape: [frames, canvas, canvas, 1],
    numClasses: label === 'direction' ? MOVING_DIRECTIONS.length : 10,
    train: train.split,
    test: test.split,
    motion: { train: train.paths, test: test.paths },
  };
}
