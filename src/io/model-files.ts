import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type OutputFile, writeFilesAtomic } from './atomic-write.js';
import { checkModelDir, type ModelDirCheckOptions } from './output-paths.js';

/**
 * Saves and loads tfjs layers models in the standard format (`model.json` + `weights.bin`) on
 * the local file system, with no tfjs-node.
 */

export interface SaveModelOptions {
  /**
   * Write into a non-empty directory that holds no model. Even then only `model.json` and
   * `weights.bin` are written (replacing files of those names); no other file is touched.
   */
  overwrite?: boolean;
}

/** The files of a saved model: `model.json` and one weight shard, `weights.bin`. */
export function modelArtifactsFiles(artifacts: tf.io.ModelArtifacts): OutputFile[] {
  const weightData = artifacts.weightData
    ? new Uint8Array(
        tf.io.concatenateArrayBuffers(
          Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData],
        ),
      )
    : new Uint8Array(0);
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.userDefinedMetadata
      ? { userDefinedMetadata: artifacts.userDefinedMetadata }
      : {}),
  };
  return [
    { name: 'weights.bin', data: weightData },
    { name: 'model.json', data: JSON.stringify(modelJson) },
  ];
}

/** The files `saveModel` would write for `model`, in memory (to add more, e.g. a report). */
export async function modelFiles(model: tf.LayersModel): Promise<OutputFile[]> {
  let files: OutputFile[] = [];
  await model.save({
    save: async (artifacts) => {
      files = modelArtifactsFiles(artifacts);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  return files;
}

/**
 * Writes model files (and any others, such as a report) into `dir` with `writeFilesAtomic`,
 * after `checkModelDir`: a missing or empty directory or a model directory is fine; another
 * non-empty directory is refused unless `overwrite`. Only the given files are replaced.
 */
export function writeModelDir(
  dir: string,
  files: OutputFile[],
  options: SaveModelOptions & ModelDirCheckOptions = {},
): void {
  checkModelDir(dir, options);
  writeFilesAtomic(dir, files);
}

/**
 * An IOHandler that saves to `dir` (see `writeModelDir`): each file is written to a temporary
 * sibling and renamed into place, so a failed save leaves no half-written file; files in `dir`
 * other than `model.json` and `weights.bin` are never touched.
 */
export function fileSaveHandler(dir: string, options: SaveModelOptions = {}): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const files = modelArtifactsFiles(artifacts);
      writeModelDir(dir, files, { label: 'saveModel: directory', ...options });
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: (files[0].data as Uint8Array).byteLength,
        },
      };
    },
  };
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

/** Reads `model.json` (or a directory holding one) and its weight files, with clear errors. */
export function readModelArtifacts(pathOrDir: string): tf.io.ModelArtifacts {
  const path = pathOrDir.endsWith('.json') ? pathOrDir : join(pathOrDir, 'model.json');
  if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new Error(`malformed model file ${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || !json.modelTopology) {
    throw new Error(`malformed model file ${path}: no modelTopology`);
  }
  if (!Array.isArray(json.weightsManifest))
    throw new Error(`malformed model file ${path}: no weightsManifest`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const wpath = join(dirname(path), p);
      if (!existsSync(wpath))
        throw new Error(`malformed model ${path}: weight file ${p} is missing`);
      const b = readFileSync(wpath);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  const weightData = tf.io.concatenateArrayBuffers(buffers);
  const expected = specs.reduce(
    (s, w) =>
      s +
      w.shape.reduce((a, b) => a * b, 1) *
        (w.quantization
          ? w.quantization.dtype === 'float16'
            ? 2
            : w.quantization.dtype === 'uint8'
              ? 1
              : 2
          : 4),
    0,
  );
  if (expected !== weightData.byteLength) {
    throw new Error(
      `malformed model ${path}: weights manifest needs ${expected} bytes but weight files hold ${weightData.byteLength}`,
    );
  }
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    weightSpecs: specs,
    weightData,
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
  };
}

export function fileLoadHandler(pathOrDir: string): tf.io.IOHandler {
  return { load: async () => readModelArtifacts(pathOrDir) };
}

/**
 * Saves a layers model to a directory as `model.json` + `weights.bin`. The directory may be new,
 * empty or hold a model (whose `model.json` and `weights.bin` are replaced); any other non-empty
 * directory is refused unless `{ overwrite: true }`. No other file in it is ever touched.
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<tf.io.SaveResult> {
  checkModelDir(dir, { label: 'saveModel: directory', ...options });
  return model.save(fileSaveHandler(dir, options));
}

/** Loads a layers model saved by `saveModel` (or any standard tfjs layers model on disk). */
export async function loadModel(pathOrDir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(pathOrDir));
}
