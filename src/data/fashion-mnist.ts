import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type ClassificationData, checkCount, type Split } from './dataset.js';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

/** True when the four Fashion-MNIST files are in `dir`. */
export function fashionMnistAvailable(dir = FASHION_MNIST_DIR): boolean {
  return Object.values(FILES).every((f) => existsSync(join(dir, f)));
}

function readIdx(path: string, magic: number): { dims: number[]; bytes: Uint8Array } {
  const raw = gunzipSync(readFileSync(path));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (view.getUint32(0) !== magic)
    throw new Error(`${path}: not an IDX file with magic ${magic} (got ${view.getUint32(0)})`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, bytes: raw.subarray(4 + 4 * nd) };
}

function split(dir: string, images: string, labels: string, count: number): Split {
  const im = readIdx(join(dir, images), 0x00000803);
  const lb = readIdx(join(dir, labels), 0x00000801);
  checkCount(`fashion-mnist ${images}`, count, im.dims[0]);
  const per = im.dims[1] * im.dims[2];
  const x = new Float32Array(count * per);
  for (let i = 0; i < x.length; i++) x[i] = im.bytes[i] / 255;
  return { x, y: Int32Array.from(lb.bytes.subarray(0, count)), count };
}

/**
 * Real Fashion-MNIST (28x28 grey images of 10 clothing classes, 60,000 train / 10,000 test) from
 * Debian's `dataset-fashion-mnist` files: the first `trainCount` / `testCount` of each split.
 * Throws, saying how to install the package, when the files are not there.
 */
export function loadFashionMnist(
  options: { trainCount?: number; testCount?: number; dir?: string } = {},
): ClassificationData {
  const dir = options.dir ?? FASHION_MNIST_DIR;
  if (!fashionMnistAvailable(dir))
    throw new Error(
      `fashion-mnist: files not found in ${dir}; install them with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or pass dir`,
    );
  return {
    name: 'fashion-mnist',
    sampleShape: [28, 28, 1],
    numClasses: 10,
    train: split(dir, FILES.trainImages, FILES.trainLabels, options.trainCount ?? 8000),
    test: split(dir, FILES.testImages, FILES.testLabels, options.testCount ?? 2000),
  };
}
