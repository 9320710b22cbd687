import * as tf from '@tensorflow/tfjs';
import { type ConvGeometry, convOutput, type IntLinear, MODE } from '../../wasm/int-linear.js';
import { type WasmKernels, wasmKernels } from '../../wasm/module.js';
import type { PoolGeometry } from '../../wasm/pool-geometry.js';
import { activationQuant } from './int-kernel.js';
import { PackedConv2D } from './packed-conv2d.js';
import { PackedDense } from './packed-dense.js';
import { PackedLayerBase } from './packed-layer-base.js';

/**
 * A whole-model integer plan: a chain of packed layers (and the shape-only or elementwise layers
 * between them) run as one program in the wasm kernel module's memory, so activations never
 * leave it between layers: one copy in, one copy out per predict, no tfjs op or tensor between
 * layers. Each packed layer quantizes its input and runs its integer kernel exactly as it does
 * alone (same kernels, same activation scales), so the plan's output equals layer-by-layer
 * `model.predict` on the integer kernels bit for bit.
 */
export interface IntegerPlan {
  /** One line per step ('conv1: int8 conv2d 3x3 32 -> 24x24x64 + ReLU', ...). */
  readonly steps: string[];
  /**
   * The model's output for `x` (a new tensor). Falls back to `model.predict` when a packed layer
   * does not run on integers right now (kernels switched off, another backend, a gradient tape).
   */
  predict(x: tf.Tensor): tf.Tensor;
  /** Bytes of wasm memory the plan's activation buffers hold (sized for the last batch). */
  readonly bufferBytes: number;
  /** Releases the activation buffers (the model's kernels stay with its layers). */
  dispose(): void;
}

type Shape = number[];

/** The plan's own kernel (src/wasm/assembly/int-plan.ts). */
interface PlanExports {
  maxPool2d(
    x: number,
    batch: number,
    h: number,
    w: number,
    c: number,
    ph: number,
    pw: number,
    sh: number,
    sw: number,
    padTop: number,
    padLeft: number,
    oh: number,
    ow: number,
    out: number,
  ): void;
}

interface ConvStep {
  kind: 'conv';
  layer: PackedConv2D;
  h: number;
  w: number;
  c: number;
}
interface DenseStep {
  kind: 'dense';
  layer: PackedDense;
  k: number;
}
interface PoolStep extends PoolGeometry {
  kind: 'pool';
}
type Step = ConvStep | DenseStep | PoolStep;

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Layers that are the identity at inference, or only reshape row-major data. */
const PASS_THROUGH = ['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout'];

function poolStep(layer: tf.layers.Layer, inShape: Shape): { step: PoolStep; out: Shape } | string {
  const cfg = layer.getConfig() as {
    poolSize: number[] | number;
    strides: number[] | number | null;
    padding: string;
    dataFormat?: string;
  };
  if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') return 'channels-first pooling';
  if (inShape.length !== 3) return `pooling of a rank-${inShape.length + 1} input`;
  const pair = (v: number[] | number | null, d: number[]) =>
    v == null ? d : typeof v === 'number' ? [v, v] : v;
  const [ph, pw] = pair(cfg.poolSize, [2, 2]);
  const [sh, sw] = pair(cfg.strides, [ph, pw]);
  const [h, w, c] = inShape;
  const g: ConvGeometry = {
    batch: 1,
    h,
    w,
    c,
    kh: ph,
    kw: pw,
    strides: [sh, sw],
    dilations: [1, 1],
    padding: cfg.padding === 'same' ? 'same' : 'valid',
  };
  const { oh: outH, ow: outW, padTop: top, padLeft: left } = convOutput(g);
  const step: PoolStep = { kind: 'pool', h, w, c, ph, pw, sh, sw, outH, outW, top, left };
  return { step, out: [outH, outW, c] };
}

/** The chain of layers from the model's input to its output, or why there is none. */
function chainOf(model: tf.LayersModel): tf.layers.Layer[] | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    return `${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each needed)`;
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const nodes = l.inboundNodes;
    if (nodes.length !== 1) return `layer '${l.name}' is shared (${nodes.length} calls)`;
    const ins = nodes[0].inboundLayers;
    const prev = i === 0 ? null : layers[i - 1];
    const ok =
      ins.length === 1 && (prev ? ins[0] === prev : ins[0].getClassName() === 'InputLayer');
    if (!ok) return `layer '${l.name}' is not fed by the layer before it (not a chain)`;
  }
  return layers;
}

/** Why `model` has no integer plan now, or the plan's steps and output shape. */
function compile(model: tf.LayersModel): { steps: Step[]; text: string[]; out: Shape } | string {
  const chain = chainOf(model);
  if (typeof chain === 'string') return chain;
  let shape = (model.inputs[0].shape.slice(1) as (number | null)[]).map((d) => d ?? -1);
  if (shape.some((d) => d < 1)) return `the input shape [${model.inputs[0].shape}] is not fixed`;
  const steps: Step[] = [];
  const text: string[] = [];
  for (const layer of chain) {
    const cls = layer.getClassName();
    const where = `layer '${layer.name}' (${cls})`;
    if (layer instanceof PackedLayerBase) {
      const gap = layer.integerGap();
      if (gap) return `${where} runs decoded: ${gap}`;
      const act = layer.activationName;
      const fused = act === 'relu' || act === 'linear';
      if (!fused && layer !== chain[chain.length - 1])
        return `${where}: activation '${act}' is not fused into integer kernels (only the last layer may have one)`;
      const bits = layer.codec.bits <= 4 ? 'int4' : 'int8';
      const relu = act === 'relu' ? ' + ReLU' : fused ? '' : ` + ${act} (tfjs)`;
      if (layer instanceof PackedConv2D) {
        if (shape.length !== 3) return `${where}: input [${shape}] is not an image`;
        const [h, w, c] = shape;
        const [kh, kw, , n] = layer.kernelShape;
        const g: ConvGeometry = {
          batch: 1,
          h,
          w,
          c,
          kh,
          kw,
          strides: layer.strides,
          dilations: layer.dilationRate,
          padding: layer.padding,
        };
        const { oh, ow } = convOutput(g);
        steps.push({ kind: 'conv', layer, h, w, c });
        shape = [oh, ow, n];
        text.push(`${layer.name}: ${bits} conv2d ${kh}x${kw} -> ${shape.join('x')}${relu}`);
      } else if (layer instanceof PackedDense) {
        const k = shape[shape.length - 1];
        steps.push({ kind: 'dense', layer, k });
        shape = [...shape.slice(0, -1), layer.outChannels];
        text.push(`${layer.name}: ${bits} dense ${k} -> ${layer.outChannels}${relu}`);
      } else return `${where} has no integer plan step`;
    } else if (cls === 'MaxPooling2D') {
      const p = poolStep(layer, shape);
      if (typeof p === 'string') return `${where}: ${p}`;
      steps.push(p.step);
      shape = p.out;
      text.push(`${layer.name}: max pool ${p.step.ph}x${p.step.pw} -> ${shape.join('x')}`);
    } else if (cls === 'Flatten') {
      shape = [size(shape)];
    } else if (cls === 'Reshape') {
      const target = (layer.getConfig() as { targetShape: number[] }).targetShape;
      const fill = size(shape) / size(target.filter((d) => d !== -1));
      const next = target.map((d) => (d === -1 ? fill : d));
      if (!Number.isInteger(fill) || size(next) !== size(shape))
        return `${where}: cannot reshape [${shape}] to [${target}]`;
      shape = next;
    } else if (PASS_THROUGH.includes(cls)) {
      // the identity at inference
    } else if (cls === 'Activation') {
      const act = (layer.getConfig() as { activation: string }).activation;
      if (act !== 'linear') return `${where}: activation '${act}' outside a packed layer`;
    } else {
      return `${where} has no integer plan step`;
    }
  }
  if (!steps.some((s) => s.kind !== 'pool')) return 'the model has no packed layer';
  return { steps, text, out: shape };
}

/** Why `model` cannot run as a whole-model integer plan right now, or null when it can. */
export function integerPlanGap(model: tf.LayersModel): string | null {
  const c = compile(model);
  return typeof c === 'string' ? c : null;
}

/** Buffers for one batch size, reused across predicts. */
interface Buffers {
  batch: number;
  a: number;
  b: number;
  q: number;
  scales: number;
  scratch: number;
  bytes: number;
}

class Plan implements IntegerPlan {
  readonly steps: string[];
  private readonly model: tf.LayersModel;
  private readonly program: Step[];
  private readonly inSize: number;
  private readonly outShape: Shape;
  private readonly wasm: WasmKernels;
  private buf: Buffers | null = null;
  private disposed = false;

  constructor(model: tf.LayersModel, program: Step[], text: string[], outShape: Shape) {
    this.model = model;
    this.program = program;
    this.steps = text;
    this.inSize = size(model.inputs[0].shape.slice(1) as number[]);
    this.outShape = outShape;
    this.wasm = wasmKernels();
  }

  get bufferBytes(): number {
    return this.buf?.bytes ?? 0;
  }

  /** Per-sample float sizes: the input, then each step's output. */
  private floatSizes(): { maxFloats: number; maxCodes: number; scratch: number } {
    let maxFloats = this.inSize;
    let maxCodes = 0;
    let scratch = 0;
    for (const s of this.program) {
      if (s.kind === 'conv') {
        const lin = s.layer.integerStep()?.lin as IntLinear;
        const { oh, ow } = convOutput(this.geometry(s, 1));
        maxFloats = Math.max(maxFloats, oh * ow * lin.n);
        maxCodes = Math.max(maxCodes, s.h * s.w * s.c);
        scratch = Math.max(scratch, lin.conv2dScratchBytes());
      } else if (s.kind === 'dense') {
        const lin = s.layer.integerStep()?.lin as IntLinear;
        maxFloats = Math.max(maxFloats, lin.n * this.rowsPer(s));
        maxCodes = Math.max(maxCodes, lin.kp * this.rowsPer(s));
      } else {
        maxFloats = Math.max(maxFloats, s.outH * s.outW * s.c);
      }
    }
    return { maxFloats, maxCodes, scratch };
  }

  /** Dense rows per sample (a dense layer on [.., k] inputs runs on every row of k). */
  private rowsPer(s: DenseStep): number {
    return this.stepInputSize(s) / s.k;
  }

  private stepInputSize(target: Step): number {
    let n = this.inSize;
    for (const s of this.program) {
      if (s === target) return n;
      if (s.kind === 'conv') {
        const { oh, ow } = convOutput(this.geometry(s, 1));
        n = oh * ow * s.layer.outChannels;
      } else if (s.kind === 'dense') n = (n / s.k) * s.layer.outChannels;
      else n = s.outH * s.outW * s.c;
    }
    return n;
  }

  private geometry(s: ConvStep, batch: number): ConvGeometry {
    const [kh, kw] = s.layer.kernelShape;
    return {
      batch,
      h: s.h,
      w: s.w,
      c: s.c,
      kh,
      kw,
      strides: s.layer.strides,
      dilations: s.layer.dilationRate,
      padding: s.layer.padding,
    };
  }

  private buffers(batch: number): Buffers {
    if (this.buf?.batch === batch) return this.buf;
    this.release();
    const { maxFloats, maxCodes, scratch } = this.floatSizes();
    const heap = this.wasm.heap;
    const floats = maxFloats * batch * 4;
    const codes = maxCodes * batch * 2;
    const rows =
      batch * Math.max(1, ...this.program.map((s) => (s.kind === 'dense' ? this.rowsPer(s) : 1)));
    const b: Buffers = {
      batch,
      a: heap.alloc(floats),
      b: heap.alloc(floats),
      q: heap.alloc(codes),
      scales: heap.alloc(rows * 4),
      scratch: heap.alloc(Math.max(scratch, 16)),
      bytes: 2 * floats + codes + rows * 4 + scratch,
    };
    this.buf = b;
    return b;
  }

  private release(): void {
    if (!this.buf) return;
    const heap = this.wasm.heap;
    for (const p of [this.buf.a, this.buf.b, this.buf.q, this.buf.scales, this.buf.scratch])
      heap.release(p);
    this.buf = null;
  }

  predict(x: tf.Tensor): tf.Tensor {
    if (this.disposed) throw new Error('integer plan: used after dispose');
    const batch = x.shape[0];
    if (x.rank < 2 || x.size !== batch * this.inSize) {
      throw new Error(
        `integer plan: input [${x.shape}] does not match the model input [${this.model.inputs[0].shape}]`,
      );
    }
    // Every packed layer must run on integers now (the same test its own call makes).
    type Kernel = NonNullable<ReturnType<PackedLayerBase['integerStep']>>;
    const kernels: (Kernel | null)[] = [];
    for (const s of this.program) {
      if (s.kind === 'pool') kernels.push(null);
      else {
        const k = s.layer.integerStep();
        if (!k) return this.model.predict(x) as tf.Tensor;
        kernels.push(k);
      }
    }
    const buf = this.buffers(batch);
    const heap = this.wasm.heap;
    const e = this.wasm.exports as WasmKernels['exports'] & PlanExports;
    const data = x.dataSync();
    heap.f32(buf.a, x.size).set(data);
    const mode = MODE[activationQuant().mode];
    let cur = buf.a;
    let next = buf.b;
    let count = x.size;
    this.program.forEach((s, i) => {
      if (s.kind === 'conv') {
        const { lin, relu } = kernels[i] as Kernel;
        const per = s.h * s.w * s.c;
        e.quantize(cur, batch, per, per, buf.q, buf.scales, mode, 0);
        const g = this.geometry(s, batch);
        lin.conv2dAt(buf.q, g, buf.scales, relu, next, buf.scratch);
        const { oh, ow } = convOutput(g);
        count = batch * oh * ow * lin.n;
      } else if (s.kind === 'dense') {
        const { lin, relu } = kernels[i] as Kernel;
        const rows = count / s.k;
        e.quantize(cur, rows, s.k, lin.kp, buf.q, buf.scales, mode, 0);
        lin.gemmAt(buf.q, rows, buf.scales, relu, next);
        count = rows * lin.n;
      } else {
        e.maxPool2d(
          cur,
          batch,
          s.h,
          s.w,
          s.c,
          s.ph,
          s.pw,
          s.sh,
          s.sw,
          s.top,
          s.left,
          s.outH,
          s.outW,
          next,
        );
        count = batch * s.outH * s.outW * s.c;
      }
      [cur, next] = [next, cur];
    });
    const y = tf.tensor(heap.f32(cur, count).slice(), [batch, ...this.outShape]);
    const finish = kernels[kernels.length - 1]?.finish;
    if (!finish) return y;
    const out = finish(y);
    y.dispose();
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }
}

/**
 * Compiles `model` (a chain of packed layers with max pooling, flatten, reshape and dropout
 * between) into a whole-model integer plan. Throws, naming the layer, when the model has a layer
 * the plan cannot run or a packed layer that runs decoded now (see `integerPlanGap`).
 */
export function integerPlan(model: tf.LayersModel): IntegerPlan {
  const c = compile(model);
  if (typeof c === 'string') throw new Error(`no integer plan for model '${model.name}': ${c}`);
  return new Plan(model, c.steps, c.text, c.out);
}
