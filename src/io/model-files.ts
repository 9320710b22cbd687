import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Saves and loads tfjs layers models in the standard format (`model.json` + `weights.bin`) on
 * the local file system, with no tfjs-node. Saving writes into a temporary directory and renames
 * it into place, so a failed save leaves no half-written model.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const target = resolve(dir);
      const tmp = `${target}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      try {
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
        writeFileSync(join(tmp, 'weights.bin'), weightData);
        writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJson));
        mkdirSync(dirname(target), { recursive: true });
        rmSync(target, { recursive: true, force: true });
        renameSync(tmp, target);
        return {
          modelArtifactsInfo: {
            dateSaved: new Date(),
            modelTopologyType: 'JSON',
            modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
            weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
            weightDataBytes: weightData.byteLength,
          },
        };
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
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

/** Saves a layers model to a directory as `model.json` + `weights.bin`. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  return model.save(fileSaveHandler(dir));
}

/** Loads a layers model saved by `saveModel` (or any standard tfjs layers model on disk). */
export async function loadModel(pathOrDir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(pathOrDir));
}
