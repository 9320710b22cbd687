// Node-only entry ('frugal/node'): everything in 'frugal' plus file I/O and the MNIST loader.

export { DATASETS, type DatasetName, type LoadOptions, loadDataset } from './data/load.js';
export { loadMnist, MNIST_TOTAL, type MnistOptions } from './data/mnist.js';
export * from './index.js';
export {
  type OutputFile,
  writeFileAtomic,
  writeFilesAtomic,
  writeJsonAtomic,
} from './io/atomic-write.js';
export {
  fileLoadHandler,
  fileSaveHandler,
  loadModel,
  readModelArtifacts,
  type SaveModelOptions,
  saveModel,
} from './io/model-files.js';
export { checkModelDir, checkOutputFile, isModelDir } from './io/output-paths.js';
// Installs the threaded-wasm shim behind initEngine({ threads }) and exports its controls.
export {
  resizeWasmThreads,
  setWasmThreads,
  threadedWasmActive,
  threadedWasmUnavailableReason,
  wasmThreads,
  wasmThreadsReady,
} from './parallel/threaded-wasm.js';
export * from './pipeline/node.js';
export {
  type PlotPoint,
  type PlotSeries,
  type PlotSpec,
  renderSvgPlot,
} from './report/svg-plot.js';
export * from './train/parallel/index.js';
export * from './transformers/corpus.js';
export * from './transformers/lm-files.js';
