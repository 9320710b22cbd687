import * as tf from '@tensorflow/tfjs';

/** A kernel function in tfjs's form, given the backend name it was registered for. */
export type FastKernelFunc = (
  backendName: string,
  args: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap },
  stock: tf.KernelConfig | undefined,
) => tf.TensorInfo;

/**
 * A kernel body given the stock kernel it replaces (to fall back on or to call with other
 * operands); kernel-table.ts's `withStock` makes a FastKernelFunc of it.
 */
export type StockKernelBody = (
  backendName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  stock: tf.KernelConfig,
) => tf.TensorInfo;

export interface FastKernel {
  kernelName: string;
  /** Backends this kernel is registered for. */
  backends: readonly string[];
  kernelFunc: FastKernelFunc;
}

export interface FastGradient {
  kernelName: string;
  /** Builds the gradient config, given the stock one (to fall back on). */
  make: (stock: tf.GradConfig | undefined) => tf.GradConfig;
}

/**
 * Installs kernels and gradients through tfjs's public registry and puts back exactly what was
 * there before on `uninstall`. Installing twice changes nothing already installed.
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

  /**
   * Installs every kernel for the backends registered now and the gradients (once). Called again,
   * it installs only what is missing: the kernels of a backend registered since (e.g. wasm, which
   * frugal loads only when asked for it), wrapping that backend's own stock kernels.
   */
  install(): void {
    const done = new Set(this.savedKernels.map((k) => `${k.name}/${k.backend}`));
    for (const k of this.kernels) {
      for (const backend of k.backends) {
        if (done.has(`${k.kernelName}/${backend}`)) continue;
        // A backend that is not registered has no stock kernels yet: registering frugal's first
        // would be overwritten (with a warning) when the backend registers its own.
        if (tf.findBackendFactory(backend) == null) continue;
        const stock = tf.getKernel(k.kernelName, backend);
        this.savedKernels.push({ name: k.kernelName, backend, stock });
        if (stock) tf.unregisterKernel(k.kernelName, backend);
        // The stock setup/dispose travel along: a backend initialised after `install` must
        // still set up the stock kernel that frugal's delegates to.
        tf.registerKernel({
          kernelName: k.kernelName,
          backendName: backend,
          kernelFunc: (args) => k.kernelFunc(backend, args, stock),
          ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}),
          ...(stock?.disposeFunc ? { disposeFunc: stock.disposeFunc } : {}),
        });
      }
    }
    if (this.active) return;
    for (const g of this.gradients) {
      const stock = tf.getGradient(g.kernelName);
      this.savedGradients.push({ name: g.kernelName, stock });
      if (stock) tf.unregisterGradient(g.kernelName);
      tf.registerGradient(g.make(stock));
    }
    this.active = true;
  }

  /** Installs the kernels of backends registered since `install` (no-op when not installed). */
  refresh(): void {
    if (this.active) this.install();
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
