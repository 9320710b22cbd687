/**
 * One spatial axis of a correlation `out[r] = sum_k in[r*stride + k*dilation - padBefore]`,
 * r in [0, outSize): how to crop the input and pad it with non-negative explicit padding so that
 * a 'valid'-style convolution produces exactly `outSize` outputs. Negative padding (rows that
 * are never read) becomes a crop.
 */
export interface AxisFit {
  sliceBegin: number;
  sliceSize: number;
  padBefore: number;
  padAfter: number;
}

export function fitAxis(
  inSize: number,
  outSize: number,
  kernelSize: number,
  stride: number,
  dilation: number,
  padBefore: number,
): AxisFit {
  /** Index (in the unpadded input) of the last element a correlation window reads. */
  const last = (outSize - 1) * stride + (kernelSize - 1) * dilation - padBefore;
  const sliceBegin = Math.max(0, -padBefore);
  const end = Math.min(inSize, last + 1);
  if (end <= sliceBegin) {
    throw new Error(
      `frugal fast kernels: window reads no input (in ${inSize}, out ${outSize}, kernel ${kernelSize})`,
    );
  }
  return {
    sliceBegin,
    sliceSize: end - sliceBegin,
    padBefore: Math.max(0, padBefore),
    padAfter: Math.max(0, last + 1 - inSize),
  };
}

/** True when the fit needs a crop of the input. */
export function needsCrop(fit: AxisFit, inSize: number): boolean {
  return fit.sliceBegin !== 0 || fit.sliceSize !== inSize;
}
