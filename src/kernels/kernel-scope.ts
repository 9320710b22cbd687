import * as tf from '@tensorflow/tfjs';

type Attrs = tf.NamedAttrMap;
type Inputs = tf.NamedTensorInfoMap;

/**
 * Runs other kernels of the same backend from inside a kernel function, the way tfjs's own
 * kernels compose: no tensors, only TensorInfos, each intermediate released exactly once.
 *
 *   const scope = new KernelScope('wasm', backend);
 *   try { const t = scope.run('Transpose', {x}, {perm}); ...; return scope.keep(out); }
 *   finally { scope.dispose(); }
 */
export class KernelScope {
  private readonly owned = new Set<tf.TensorInfo>();

  constructor(
    readonly backendName: string,
    readonly backend: tf.KernelBackend,
  ) {}

  /** Runs the backend's kernel `name`; the result is released by `dispose` unless kept. */
  run(name: string, inputs: Inputs, attrs: Attrs = {}): tf.TensorInfo {
    const config = tf.getKernel(name, this.backendName);
    if (config === undefined) {
      throw new Error(`frugal fast kernels: backend '${this.backendName}' has no '${name}' kernel`);
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out))
      throw new Error(`frugal fast kernels: '${name}' returned several outputs`);
    this.owned.add(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Releases an intermediate early (it must come from `run`). */
  release(info: tf.TensorInfo): void {
    if (this.owned.delete(info)) this.backend.disposeData(info.dataId);
  }

  /** Hands `info` to the caller: `dispose` will not release it. */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    this.owned.delete(info);
    return info;
  }

  dispose(): void {
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.clear();
  }
}

/** Runs `body` with a fresh scope; the returned TensorInfo is kept, every other one released. */
export function withKernelScope(
  backendName: string,
  backend: object,
  body: (scope: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const scope = new KernelScope(backendName, backend as tf.KernelBackend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
