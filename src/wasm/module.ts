import { WasmHeap } from './heap.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** The functions the kernel module exports (pointers are byte offsets into its memory). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  quantize(
    x: number,
    rows: number,
    cols: number,
    colsPad: number,
    out: number,
    scales: number,
    mode: number,
    fixedScale: number,
  ): void;
  gemm(
    a: number,
    rows: number,
    kp: number,
    w: number,
    bits: number,
    n: number,
    rowScales: number,
    colScale: number,
    colZero: number,
    bias: number,
    relu: number,
    out: number,
    outStride: number,
  ): void;
  conv2d(...args: number[]): void;
  conv2dScratchBytes(kp: number): number;
  actQuantize(
    x: number,
    samples: number,
    perSample: number,
    bits: number,
    seeds: number,
    words: number,
    mins: number,
    scales: number,
  ): number;
  /** `actQuantize` in SIMD lanes: the same results, bit for bit (the 'wasm' codec). */
  actQuantizeExact: KernelExports['actQuantize'];
  /** float32 SIMD and a hash dither (the 'wasm-simd' codec): its own stream. */
  actQuantizeSimd: KernelExports['actQuantize'];
  actRestoreExact: KernelExports['actRestore'];
  actRestoreSimd: KernelExports['actRestore'];
  actRestore(
    words: number,
    mins: number,
    scales: number,
    perSample: number,
    bits: number,
    first: number,
    count: number,
    out: number,
  ): void;
}

/** The instantiated module and the allocator over its memory, shared by every kernel user. */
export interface WasmKernels {
  exports: KernelExports;
  heap: WasmHeap;
}

let instance: WasmKernels | null = null;
let failure: Error | null = null;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const bin = atob(KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** The codec's two entry points as the module exports them, with the kind first. */
interface CodecEntries {
  actQuantizeAs(kind: number, ...args: Parameters<KernelExports['actQuantize']>): number;
  actRestoreAs(kind: number, ...args: Parameters<KernelExports['actRestore']>): void;
}

/** The kinds of src/wasm/assembly/act-groups.ts. */
const ACT_SCALAR = 0;
const ACT_EXACT = 1;
const ACT_SIMD = 2;

function wrap(inst: WebAssembly.Instance): WasmKernels {
  const raw = inst.exports as unknown as KernelExports & CodecEntries;
  const exports: KernelExports = {
    ...raw,
    actQuantize: (...a) => raw.actQuantizeAs(ACT_SCALAR, ...a),
    actQuantizeExact: (...a) => raw.actQuantizeAs(ACT_EXACT, ...a),
    actQuantizeSimd: (...a) => raw.actQuantizeAs(ACT_SIMD, ...a),
    actRestore: (...a) => raw.actRestoreAs(ACT_SCALAR, ...a),
    actRestoreExact: (...a) => raw.actRestoreAs(ACT_EXACT, ...a),
    actRestoreSimd: (...a) => raw.actRestoreAs(ACT_SIMD, ...a),
  };
  return { exports, heap: new WasmHeap(exports.memory, exports.heapBase()) };
}

/** Whether this JS engine validates WebAssembly SIMD (the module needs it). */
export function wasmSimdSupported(): boolean {
  if (typeof WebAssembly !== 'object') return false;
  // (module (func (result v128) i32.const 0 i32x4.splat))
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17,
    11,
  ]);
  return WebAssembly.validate(probe);
}

/**
 * The kernel module, instantiated on first use with a synchronous compile (fine in Node and in
 * workers; browsers refuse synchronous compiles of modules over 4 KB on the main thread, so
 * call `initWasmKernels()` once there first). Throws when the engine cannot run it.
 */
export function wasmKernels(): WasmKernels {
  if (instance) return instance;
  if (failure) throw failure;
  try {
    if (!wasmSimdSupported()) throw new Error('this JavaScript engine has no WebAssembly SIMD');
    instance = wrap(new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {}));
    return instance;
  } catch (e) {
    failure = new Error(`frugal's wasm kernels cannot start: ${(e as Error).message}`);
    throw failure;
  }
}

/** Instantiates the kernel module asynchronously (use once in a browser's main thread). */
export async function initWasmKernels(): Promise<WasmKernels> {
  if (instance) return instance;
  if (!wasmSimdSupported()) throw new Error('this JavaScript engine has no WebAssembly SIMD');
  const module = await WebAssembly.compile(moduleBytes());
  instance ??= wrap(await WebAssembly.instantiate(module, {}));
  return instance;
}

/** The module when it is (or can now be) running, else null. */
export function tryWasmKernels(): WasmKernels | null {
  try {
    return wasmKernels();
  } catch {
    return null;
  }
}
