import * as tf from '@tensorflow/tfjs';

/** A kernel function in tfjs's form, given the backend name it was registered for. */
export type FastKernelFunc = (
  backendName: string,
  args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap },
  stock: tf.KernelConfig | undefined,
) => tf.TensorInfo;

export interface FastKernel {
  kernelName: string;
  /** Backends this kernel is registered for. */
  backends: readonly string[];
  kernelFunc: FastKernelFunc;
}

export interface FastGradient {
  kernelName: string;
  config: tf.GradConfig;
}

/**
 * Installs kernels and gradients through tfjs's public registry and puts back exactly what was
 * there before on `uninstall`. Installing twice is a no-op.
 */
export class KernelOverrides {
  private savedKernels: { name: string; backend: string; stock: tf.KernelConfig | undefined }[] =
    [];
  private savedGradients: { name: string; stock: tf.GradConfig | undefined }[] = [];
  private active = false;

  constructor(
    private readonly kernels: readonly FastKernel[],
    private readonly gradients: readonly FastGradient[],
  ) {}

  get installed(): boolean {
    return this.active;
  }

  install(): void {
    if (this.active) return;
    for (const k of this.kernels) {
      for (const backend of k.backends) {
        const stock = tf.getKernel(k.kernelName, backend);
        this.savedKernels.push({ name: k.kernelName, backend, stock });
        if (stock) tf.unregisterKernel(k.kernelName, backend);
        tf.registerKernel({
          kernelName: k.kernelName,
          backendName: backend,
          kernelFunc: (args) => k.kernelFunc(backend, args, stock),
        });
      }
    }
    for (const g of this.gradients) {
      const stock = tf.getGradient(g.kernelName);
      this.savedGradients.push({ name: g.kernelName, stock });
      if (stock) tf.unregisterGradient(g.kernelName);
      tf.registerGradient(g.config);
    }
    this.active = true;
  }

  uninstall(): void {
    if (!this.active) return;
    for (const { name, backend, stock } of this.savedKernels) {
      tf.unregisterKernel(name, backend);
      if (stock) tf.registerKernel(stock);
    }
    for (const { name, stock } of this.savedGradients) {
      tf.unregisterGradient(name);
      if (stock) tf.registerGradient(stock);
    }
    this.savedKernels = [];
    this.savedGradients = [];
    this.active = false;
  }
}
