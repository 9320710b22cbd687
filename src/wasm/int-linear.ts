import { type WasmKernels, wasmKernels } from './module.js';

/**
 * Integer linear layers on the wasm SIMD kernels: a kernel [k, n] of signed integer codes (int8,
 * or int4 when every code is in -8..7) with a float scale and zero term per output channel,
 * w[i][j] = q[i][j] * scale[j] + zero[j], held as packed bytes in the module's memory.
 * Activations are quantized on the fly to int8 codes (per row, per tensor, or a static scale).
 */

/** How activations are quantized: one scale per row (sample), one per call, or a fixed scale. */
export type ActQuant = { mode: 'row' } | { mode: 'tensor' } | { mode: 'static'; scale: number };

/** The `quantize` kernel's mode numbers. */
export const MODE = { row: 0, tensor: 1, static: 2 } as const;

export interface IntLinearSpec {
  /** Signed codes, row-major [k, n]. */
  q: Int8Array;
  k: number;
  n: number;
  /** 8: codes in -128..127; 4: codes in -8..7 (two per byte). */
  bits: 4 | 8;
  scale: Float32Array;
  /** Per-channel zero term; null or all zeros for symmetric codes. */
  zero?: Float32Array | null;
  bias?: Float32Array | null;
}

type KernelArgs = [number, number, number, number, number, number, number, number, number, number];

export interface ConvGeometry {
  batch: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  strides: [number, number];
  dilations: [number, number];
  padding: 'valid' | 'same';
}

/** Output size and top/left padding of a convolution, as tfjs computes them. */
export function convOutput(g: ConvGeometry): {
  oh: number;
  ow: number;
  padTop: number;
  padLeft: number;
} {
  const dim = (n: number, k: number, s: number, d: number) => {
    const eff = (k - 1) * d + 1;
    if (g.padding === 'valid') return { o: Math.floor((n - eff) / s) + 1, pad: 0 };
    const o = Math.ceil(n / s);
    return { o, pad: Math.floor(Math.max((o - 1) * s + eff - n, 0) / 2) };
  };
  const y = dim(g.h, g.kh, g.strides[0], g.dilations[0]);
  const x = dim(g.w, g.kw, g.strides[1], g.dilations[1]);
  return { oh: y.o, ow: x.o, padTop: y.pad, padLeft: x.pad };
}

export const evenUp = (k: number): number => k + (k & 1);
export const blocksOf8 = (n: number): number => Math.ceil(n / 8) * 8;

/** The kernel's byte layout in wasm memory (see src/wasm/assembly/kernels.ts). */
export function packPanels(q: Int8Array, k: number, n: number, bits: 4 | 8): Uint8Array {
  const kp = evenUp(k);
  const blocks = Math.ceil(n / 8);
  const at = (i: number, j: number) => (i < k && j < n ? q[i * n + j] : 0);
  if (bits === 8) {
    const out = new Int8Array(blocks * kp * 8);
    for (let b = 0; b < blocks; b++) {
      for (let p = 0; p < kp / 2; p++) {
        const base = b * kp * 8 + p * 16;
        for (let o = 0; o < 8; o++) {
          out[base + o * 2] = at(2 * p, b * 8 + o);
          out[base + o * 2 + 1] = at(2 * p + 1, b * 8 + o);
        }
      }
    }
    return new Uint8Array(out.buffer);
  }
  const out = new Uint8Array(blocks * kp * 4);
  for (let b = 0; b < blocks; b++) {
    for (let p = 0; p < kp / 2; p++) {
      const base = b * kp * 4 + p * 8;
      for (let j = 0; j < 8; j++) {
        const o = j >> 1;
        const i = 2 * p + (j & 1);
        const lo = at(i, b * 8 + o);
        const hi = at(i, b * 8 + 4 + o);
        if (lo < -8 || lo > 7 || hi < -8 || hi > 7) throw new Error('int4 codes must be in -8..7');
        out[base + j] = (lo & 15) | ((hi & 15) << 4);
      }
    }
  }
  return out;
}

/** Inverse of `packPanels`. */
export function unpackPanels(bytes: Uint8Array, k: number, n: number, bits: 4 | 8): Int8Array {
  const kp = evenUp(k);
  const q = new Int8Array(k * n);
  const s8 = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < k; i++) {
    const p = i >> 1;
    for (let j = 0; j < n; j++) {
      const b = j >> 3;
      const o = j & 7;
      if (bits === 8) q[i * n + j] = s8[b * kp * 8 + p * 16 + o * 2 + (i & 1)];
      else {
        const byte = s8[b * kp * 4 + p * 8 + (o & 3) * 2 + (i & 1)];
        q[i * n + j] = o < 4 ? (byte << 28) >> 28 : byte >> 4;
      }
    }
  }
  return q;
}

function checkAct(a: ActQuant): void {
  if (a.mode === 'static' && !(Number.isFinite(a.scale) && a.scale > 0)) {
    throw new Error(`static activation scale must be a positive number, got ${a.scale}`);
  }
  if (!(a.mode in MODE)) throw new Error(`activation quantization mode '${a.mode}' is unknown`);
}

/** A linear kernel resident in wasm memory. Call `dispose` to free it. */
export class IntLinear {
  readonly k: number;
  readonly n: number;
  readonly kp: number;
  readonly bits: 4 | 8;
  private readonly wasm: WasmKernels;
  private readonly ptrs: { w: number; scale: number; zero: number; bias: number };
  private readonly sizes: { w: number; floats: number };
  private disposed = false;

  constructor(spec: IntLinearSpec, wasm: WasmKernels = wasmKernels()) {
    const { k, n, bits } = spec;
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1)
      throw new Error(`IntLinear: bad kernel shape [${k}, ${n}]`);
    if (bits !== 4 && bits !== 8) throw new Error(`IntLinear: bits must be 4 or 8, got ${bits}`);
    if (spec.q.length !== k * n)
      throw new Error(`IntLinear: ${spec.q.length} codes for [${k}, ${n}]`);
    if (spec.scale.length !== n) throw new Error(`IntLinear: ${spec.scale.length} scales for ${n}`);
    this.k = k;
    this.n = n;
    this.kp = evenUp(k);
    this.bits = bits;
    this.wasm = wasm;
    const panels = packPanels(spec.q, k, n, bits);
    const np = blocksOf8(n);
    const padded = (v: Float32Array) => {
      const p = new Float32Array(np);
      p.set(v);
      return p;
    };
    const zero = spec.zero?.some((z) => z !== 0) ? spec.zero : null;
    const heap = wasm.heap;
    this.ptrs = {
      w: heap.put(panels),
      scale: heap.put(padded(spec.scale)),
      zero: zero ? heap.put(padded(zero)) : 0,
      bias: spec.bias ? heap.put(padded(spec.bias)) : 0,
    };
    this.sizes = {
      w: panels.byteLength,
      floats: np * 4 * (1 + (zero ? 1 : 0) + (spec.bias ? 1 : 0)),
    };
  }

  /** Bytes this kernel holds in wasm memory (packed codes plus per-channel floats). */
  get bytes(): number {
    return this.sizes.w + this.sizes.floats;
  }

  /** The signed codes back from wasm memory. */
  codes(): Int8Array {
    const b = this.wasm.heap.bytes().slice(this.ptrs.w, this.ptrs.w + this.sizes.w);
    return unpackPanels(b, this.k, this.n, this.bits);
  }

  private check(): void {
    if (this.disposed) throw new Error('IntLinear: used after dispose');
  }

  /** y[rows, n] = x[rows, k] . w (+ bias, ReLU), activations quantized by `act`. */
  dense(
    x: Float32Array,
    rows: number,
    act: ActQuant = { mode: 'row' },
    relu = false,
  ): Float32Array {
    this.check();
    checkAct(act);
    if (x.length !== rows * this.k)
      throw new Error(`IntLinear: ${x.length} inputs for ${rows} rows of ${this.k}`);
    return this.quantizedRun(x, rows, this.k, this.kp, act, rows * this.n, null, (qp, sp, op) =>
      this.gemmAt(qp, rows, sp, relu, op),
    );
  }

  /**
   * Quantizes `x` (`rows` rows of `width` floats) into wasm memory as rows of `stride`
   * int16 codes and one scale each, runs `kernel` on the codes, scales and an output of
   * `outCount` floats (and `scratchBytes` of scratch, if not null), and returns that output.
   */
  private quantizedRun(
    x: Float32Array,
    rows: number,
    width: number,
    stride: number,
    act: ActQuant,
    outCount: number,
    scratchBytes: number | null,
    kernel: (qp: number, sp: number, op: number, scratch: number) => void,
  ): Float32Array {
    const { heap, exports: e } = this.wasm;
    const xp = heap.put(x);
    const qp = heap.alloc(rows * stride * 2);
    const sp = heap.alloc(rows * 4);
    const op = heap.alloc(outCount * 4);
    const ptrs = [xp, qp, sp, op];
    try {
      const scratch = scratchBytes === null ? 0 : heap.alloc(scratchBytes);
      if (scratchBytes !== null) ptrs.push(scratch);
      const fixed = act.mode === 'static' ? act.scale : 0;
      e.quantize(xp, rows, width, stride, qp, sp, MODE[act.mode], fixed);
      kernel(qp, sp, op, scratch);
      return heap.f32(op, outCount).slice();
    } finally {
      for (const ptr of ptrs) heap.release(ptr);
    }
  }

  /**
   * The GEMM on buffers already in wasm memory: `qp` rows of kp int16 codes (from `quantize`),
   * `sp` one float scale per row, `op` rows x n floats out.
   */
  gemmAt(qp: number, rows: number, sp: number, relu: boolean, op: number): void {
    this.check();
    this.wasm.exports.gemm(qp, rows, ...this.kernelArgs(sp, relu, op), this.n);
  }

  /**
   * The arguments the wasm GEMM and convolution take after the activations' geometry: the packed
   * kernel, its scales, zero term and bias, the activations' scales `sp`, ReLU, the output `op`.
   */
  private kernelArgs(sp: number, relu: boolean, op: number): KernelArgs {
    const p = this.ptrs;
    return [this.kp, p.w, this.bits, this.n, sp, p.scale, p.zero, p.bias, +relu, op];
  }

  /**
   * Convolution of NHWC `x` with this kernel read as [kh, kw, c, n] (k = kh*kw*c); activations
   * quantized per sample ('row'), per call ('tensor') or with a static scale.
   */
  conv2d(
    x: Float32Array,
    g: ConvGeometry,
    act: ActQuant = { mode: 'row' },
    relu = false,
  ): Float32Array {
    this.check();
    checkAct(act);
    if (g.kh * g.kw * g.c !== this.k)
      throw new Error(`IntLinear: a ${g.kh}x${g.kw}x${g.c} window does not match k = ${this.k}`);
    const per = g.h * g.w * g.c;
    if (x.length !== g.batch * per)
      throw new Error(`IntLinear: input has ${x.length} values, expected ${g.batch * per}`);
    const { oh, ow } = convOutput(g);
    if (oh < 1 || ow < 1)
      throw new Error(`IntLinear: the ${g.kh}x${g.kw} window does not fit a ${g.h}x${g.w} input`);
    const outCount = g.batch * oh * ow * this.n;
    return this.quantizedRun(
      x,
      g.batch,
      per,
      per,
      act,
      outCount,
      this.conv2dScratchBytes(),
      (qp, sp, op, scratch) => this.conv2dAt(qp, g, sp, relu, op, scratch),
    );
  }

  /** Scratch bytes `conv2dAt` needs. */
  conv2dScratchBytes(): number {
    return this.wasm.exports.conv2dScratchBytes(this.kp);
  }

  /**
   * The convolution on buffers already in wasm memory: `qp` the int16 NHWC codes of the whole
   * batch (from `quantize`), `sp` one float scale per sample, `op` the NHWC float output,
   * `scratch` `conv2dScratchBytes()` bytes. The geometry is trusted (checked by `conv2d`).
   */
  conv2dAt(
    qp: number,
    g: ConvGeometry,
    sp: number,
    relu: boolean,
    op: number,
    scratch: number,
  ): void {
    this.check();
    const { oh, ow, padTop, padLeft } = convOutput(g);
    this.wasm.exports.conv2d(
      qp,
      g.batch,
      g.h,
      g.w,
      g.c,
      g.kh,
      g.kw,
      g.strides[0],
      g.strides[1],
      g.dilations[0],
      g.dilations[1],
      padTop,
      padLeft,
      oh,
      ow,
      ...this.kernelArgs(sp, relu, op),
      scratch,
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const ptr of Object.values(this.ptrs)) this.wasm.heap.release(ptr);
  }
}
