import { isAbsolute, resolve } from 'node:path';
import type { XClassConfig } from '../config/schema.js';
import { defaultDataDir } from '../config/paths.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRawFile } from '../activities/io/raw-file.js';
import { filterFileName, unknownFilterError } from '../activities/io/sed-data.js';
import { sedDataFiles } from '../activities/sed.js';
import { ArtifactStore } from '../artifacts/store.js';
import type { PipelineInput } from '../schemas/pipeline.js';

export function dataDir(config: XClassConfig): string {
  return config.data.dir ? resolve(config.data.dir) : defaultDataDir();
}

export function openStore(config: XClassConfig): ArtifactStore {
  return new ArtifactStore(isAbsolute(config.store.path) ? config.store.path : resolve(config.store.path));
}

/** Turns the config into the workflow's input: raw files located and hashed, policies copied. */
export async function planPipeline(config: XClassConfig): Promise<PipelineInput> {
  const dir = dataDir(config);
  const s = config.sed;
  const filters: [string, string][] = [
    ...s.input_bands.map((b, i) => [b.filter, `config sed.input_bands.${i}.filter`] as [string, string]),
    ...s.output_filters.map((f, i) => [f, `config sed.output_filters.${i}`] as [string, string]),
    ...s.consistency.filters.map((f, i) => [f, `config sed.consistency.filters.${i}`] as [string, string]),
  ];
  for (const [name, where] of filters) if (!existsSync(join(dir, filterFileName(name)))) throw await unknownFilterError(dir, name, where);
  const dataFiles = [];
  for (const name of sedDataFiles(s)) {
    const { path: _path, ...ref } = await resolveRawFile(dir, name);
    dataFiles.push(ref);
  }
  const labelCatalogs = [];
  for (const cat of config.label_catalogs) labelCatalogs.push({ ...cat, file: await resolveRawFile(dir, cat.file) });
  return {
    data_dir: dir,
    label_catalogs: labelCatalogs,
    dedup: config.dedup,
    crossmatch: config.crossmatch,
    files: { muwclass: await resolveRawFile(dir, config.catalogs.muwclass) },
    sed: { ...s, data_files: dataFiles },
    features: config.features,
    model: config.model,
    evaluation: config.evaluation,
    label_map: config.labels.map,
    concurrency: config.engine.concurrency,
    retry: config.retry,
    activity_timeout_s: config.temporal.activity_timeout_s,
    heartbeat_timeout_s: config.temporal.heartbeat_timeout_s,
  };
}
