// Kernels that run on tfjs-backend-wasm's own memory (no copies in or out): a small module that
// imports the backend's WebAssembly.Memory, instantiated once per memory. Built from
// src/wasm/assembly/tfjs-heap.ts by `npm run build:wasm-tfjs-heap`; it has no data segments,
// allocates nothing and only touches the buffers it is given (tfjs tensors' heap offsets).
import { TFJS_HEAP_WASM_PLAIN, TFJS_HEAP_WASM_SHARED } from './tfjs-heap-wasm.js';

export interface TfjsHeapKernels {
  /** Adam over n floats at byte offsets w, m, v, g into outW, outM, outV (see the source). */
  adamUpdate(
    w: number,
    m: number,
    v: number,
    g: number,
    outW: number,
    outM: number,
    outV: number,
    n: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
  /** MaxPoolGrad of a 2x2 stride-2 unpadded NHWC pool, c % 4 == 0 (byte offsets). */
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  /** out [p, a, k] from in [a, p, k], k % 4 == 0. */
  transposeBlocks(src: number, dst: number, a: number, p: number, k: number): void;
  /** out [c, p, a] from in [a, p, c], a % 4 == 0 and c % 4 == 0. */
  transposeOuter(src: number, dst: number, a: number, p: number, c: number): void;
  /** dy * step(x) over n floats. */
  reluGrad(dy: number, x: number, out: number, n: number): void;
}

interface WasmBackendLike {
  wasm?: { wasmMemory?: unknown; asm?: { memory?: unknown } };
}

const instances = new WeakMap<WebAssembly.Memory, TfjsHeapKernels | null>();

function bytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** tfjs-backend-wasm's memory: imported by its threaded build, exported by the plain one. */
function backendMemory(backend: object): WebAssembly.Memory | null {
  const wasm = (backend as WasmBackendLike).wasm;
  const mem = wasm?.wasmMemory ?? wasm?.asm?.memory;
  return mem instanceof WebAssembly.Memory ? mem : null;
}

/**
 * The kernels bound to this wasm backend's memory, or null where they cannot run (no memory
 * found, no SIMD, or the memory type does not match); callers then take their plain path.
 */
export function tfjsHeapKernels(backend: object): TfjsHeapKernels | null {
  const memory = backendMemory(backend);
  if (memory === null) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let kernels: TfjsHeapKernels | null = null;
  try {
    const shared =
      typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(
      bytes(shared ? TFJS_HEAP_WASM_SHARED : TFJS_HEAP_WASM_PLAIN),
    );
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    kernels = instance.exports as unknown as TfjsHeapKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}
