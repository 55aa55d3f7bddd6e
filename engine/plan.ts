import { isAbsolute, resolve } from 'node:path';
import type { XClassConfig } from '../config/schema.js';
import { defaultDataDir } from '../config/paths.js';
import { resolveRawFile } from '../activities/io/raw-file.js';
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
  return {
    files: { muwclass: await resolveRawFile(dir, config.catalogs.muwclass) },
    label_map: config.labels.map,
    concurrency: config.engine.concurrency,
    retry: config.retry,
    activity_timeout_s: config.temporal.activity_timeout_s,
    heartbeat_timeout_s: config.temporal.heartbeat_timeout_s,
  };
}
