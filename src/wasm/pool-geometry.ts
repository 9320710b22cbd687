/**
 * Max-pool geometry for the wasm kernels: NHWC input [n, h, w, c], windows ph x pw, strides
 * sh x sw, output grid outH x outW, padding rows `top` and columns `left` before the input. Shared
 * by the activation codec's max pool and the integer inference plan.
 */
export interface PoolGeometry {
  h: number;
  w: number;
  c: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  outH: number;
  outW: number;
  top: number;
  left: number;
}
