import { after, before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels } from '../src/kernels/index.js';
import { useBackend } from './helpers.js';

/**
 * Called in a describe block: its tests run on the wasm backend with frugal's fast kernels, and
 * every variable is disposed after them.
 */
export function onFastWasm(): void {
  before(async () => {
    await useBackend('wasm');
    useFastKernels();
  });
  after(() => tf.disposeVariables());
}
