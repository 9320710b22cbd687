import * as tf from '@tensorflow/tfjs';

/** Attributes shared by the backward convolution kernels (tfjs names; `dilations` is frugal's addition). */
export interface ConvBackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Absent in stock tfjs attrs (which only run undilated gradients): defaults to 1. */
  dilations?: [number, number] | number;
}

/** Conv2DBackpropFilter's attributes (and the depthwise one's): the filter shape to make. */
export interface Conv2DBackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Conv2DBackpropInput's attributes (and the depthwise one's): the input shape to make. */
export interface Conv2DBackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

/**
 * A convolution gradient kernel as the kernel table calls it: the backend's name and object, its
 * two inputs (x and dy, or dy and the filter) and its attributes.
 */
export type ConvGradKernel<A> = (
  backendName: string,
  backend: object,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: A,
) => tf.TensorInfo;

/** The forward convolution's geometry, as tfjs computes it. */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvBackpropAttrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') {
    throw new Error(
      `frugal fast kernels support dataFormat 'NHWC' only, got '${attrs.dataFormat}'`,
    );
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

/** Explicit NHWC padding for a Conv2D kernel call. */
export function explicitPad(
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** Throws unless dy has the forward output's shape [N, outHeight, outWidth, channels]. */
export function checkForwardOutput(
  kernel: string,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  channels: number,
): void {
  const [n, oh, ow] = [info.batchSize, info.outHeight, info.outWidth];
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== channels) {
    throw new Error(
      `${kernel}: dy shape [${dy.shape}] does not match the forward output [${n},${oh},${ow},${channels}]`,
    );
  }
}

/**
 * The forward geometry of the convolution a gradient kernel `kernel` differentiates (x of
 * `xShape` [N,H,W,C], filter of `filterShape` [KH,KW,C,F], or [KH,KW,C,M] when `depthwise`),
 * checked: the filter reads x's C channels and dy is the forward output [N,OH,OW,F] (C*M).
 */
export function gradConvInfo(
  kernel: string,
  xShape: number[],
  filterShape: number[],
  dy: tf.TensorInfo,
  attrs: ConvBackpropAttrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  const info = convInfo(xShape, filterShape, attrs, depthwise);
  const [c, fc, f] = [xShape[3], filterShape[2], filterShape[3]];
  if (fc !== c) throw new Error(`${kernel}: filter has ${fc} input channels, x has ${c}`);
  checkForwardOutput(kernel, dy, info, depthwise ? c * f : f);
  return info;
}
