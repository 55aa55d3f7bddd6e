import { isAbsolute, resolve } from 'node:path';
import { firstIssue } from '../schemas/issues.js';
import type { XClassConfig } from '../config/schema.js';
import type { ActivityOptionsByStage } from '../schemas/engine.js';
import { STAGE_NAMES, type StageName } from '../schemas/step.js';
import { defaultDataDir } from '../config/paths.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRawFile } from '../activities/io/raw-file.js';
import { filterFileName, fitsRedshifted, sedDataFiles, unknownFilterError } from '../activities/io/sed-data.js';
import { ArtifactStore } from '../artifacts/store.js';
import type { PipelineInput, PipelineVariant, ResolvedFile } from '../schemas/pipeline.js';
import type { z } from 'zod';
import { ConfigError, deepMerge, type Tree } from '../config/load.js';
import { SedSettings } from '../schemas/sed.js';
import { FeaturesParams } from '../schemas/features.js';
import { TwoStageParams } from '../schemas/forest.js';

export function dataDir(config: XClassConfig): string {
  return config.data.dir ? resolve(config.data.dir) : defaultDataDir();
}

export function openStore(config: XClassConfig): ArtifactStore {
  return new ArtifactStore(
    isAbsolute(config.store.path) ? config.store.path : resolve(config.store.path),
    config.store.verify,
  );
}

/** The data folder must exist and look like one, before any file in it is looked up by name. */
function checkDataDir(dir: string, config: XClassConfig): void {
  const source = config.data.dir
    ? 'config data.dir'
    : process.env['XCLASS_DATA']
      ? '$XCLASS_DATA'
      : 'the default ../shared/data beside the checkout';
  if (!existsSync(dir))
    throw new ConfigError(
      `data folder ${dir} (from ${source}) does not exist; set $XCLASS_DATA or config data.dir to the reference data folder`,
    );
  for (const sub of ['filters', 'templates', 'catalogs']) {
    if (!existsSync(join(dir, sub)))
      throw new ConfigError(
        `data folder ${dir} (from ${source}) has no ${sub}/ folder; is it the reference data folder (README.md, MANIFEST.md, filters/, templates/, catalogs/)?`,
      );
  }
}

/** The settings of one ablation: its overlay merged over the baseline, validated, SED data files hashed. */
type Resolve = (name: string) => Promise<ResolvedFile>;

async function planVariant(
  dir: string,
  resolve: Resolve,
  config: XClassConfig,
  name: string | null,
  overlay: XClassConfig['ablations'][string],
): Promise<PipelineVariant> {
  const where = name === null ? 'config' : `config ablations.${name}`;
  const merge = <T>(section: 'sed' | 'features' | 'model', schema: z.ZodType<T>): T => {
    const over = overlay[section];
    const merged = over ? deepMerge(config[section] as unknown as Tree, over as Tree, section, where) : config[section];
    const parsed = schema.safeParse(merged);
    if (!parsed.success) {
      const issue = firstIssue(parsed.error);
      throw new ConfigError(`${where}: key '${section}.${issue.key}': ${issue.message}`);
    }
    return parsed.data;
  };
  const s = redshiftSettingsInUse(merge('sed', SedSettings), where);
  if (s.label_free.draws > 0 && s.assignment !== 'label_free') {
    throw new ConfigError(
      `${where}: key 'sed.label_free.draws': ${s.label_free.draws} posterior draws need sed.assignment = "label_free" (got "${s.assignment}")`,
    );
  }
  const filters: [string, string][] = [
    ...s.input_bands.map((b, i) => [b.filter, `${where} sed.input_bands.${i}.filter`] as [string, string]),
    ...s.output_filters.map((f, i) => [f, `${where} sed.output_filters.${i}`] as [string, string]),
    ...s.consistency.filters.map((f, i) => [f, `${where} sed.consistency.filters.${i}`] as [string, string]),
  ];
  for (const [fname, w] of filters)
    if (!existsSync(join(dir, filterFileName(fname)))) throw await unknownFilterError(dir, fname, w);
  const dataFiles = [];
  for (const file of await sedDataFiles(s, dir)) {
    const { path: _path, ...ref } = await resolve(file);
    dataFiles.push(ref);
  }
  return {
    sed: { ...s, data_files: dataFiles },
    features: merge('features', FeaturesParams),
    model: merge('model', TwoStageParams),
    label_conflicts: overlay.labels?.conflicts ?? config.labels.conflicts,
  };
}

/**
 * The redshifted AGN families need their grid (sed.agn_redshift); a translation that fits
 * neither (prior 0, or not label-free) carries neither the grid nor their zero priors in
 * its params: settings that cannot change the result are not part of its identity.
 */
function redshiftSettingsInUse(s: SedSettings, where: string): SedSettings {
  const { composite_z = 0, salvato = 0 } = s.label_free.priors;
  const used = fitsRedshifted(s, 'composite_z') || fitsRedshifted(s, 'salvato');
  if (used && !s.agn_redshift)
    throw new ConfigError(
      `${where}: key 'sed.agn_redshift': the redshifted AGN families (label_free.priors composite_z, salvato) need a redshift grid`,
    );
  // a redshifted family with prior 0 is not fitted: left out of the params like the grid
  const { composite_z: _z, salvato: _s, ...priors } = s.label_free.priors;
  const label_free = {
    ...s.label_free,
    priors: { ...priors, ...(composite_z > 0 ? { composite_z } : {}), ...(salvato > 0 ? { salvato } : {}) },
  };
  if (used) return { ...s, label_free };
  const { agn_redshift: _unused, ...rest } = s;
  return { ...rest, label_free };
}

/** Each stage's activity settings: its own entry in config temporal.stages over the defaults. */
export function activityOptions(config: XClassConfig): ActivityOptionsByStage {
  const t = config.temporal;
  const byStage = (s: StageName) => ({
    start_to_close_s: t.stages[s]?.start_to_close_s ?? t.activity_timeout_s,
    heartbeat_s: t.stages[s]?.heartbeat_s ?? t.heartbeat_timeout_s,
    task_queue: t.stages[s]?.task_queue ?? null,
  });
  return Object.fromEntries(STAGE_NAMES.map((s) => [s, byStage(s)])) as ActivityOptionsByStage;
}

/**
 * Turns the config into the workflow's input: raw files located and hashed, ablations
 * resolved, policies copied. `only` restricts the ablations to the named ones.
 */
export async function planPipeline(
  config: XClassConfig,
  opts: { ablations?: readonly string[] } = {},
): Promise<PipelineInput> {
  const dir = dataDir(config);
  checkDataDir(dir, config);
  const names = opts.ablations ?? Object.keys(config.ablations);
  for (const n of names)
    if (!Object.hasOwn(config.ablations, n))
      throw new ConfigError(
        `--ablation ${n}: no such ablation; configured: ${Object.keys(config.ablations).join(', ') || 'none'}`,
      );
  // every variant reads mostly the same filter and template files: hash each file once
  const hashed = new Map<string, Promise<ResolvedFile>>();
  const resolve: Resolve = (file) => {
    let r = hashed.get(file);
    if (!r) hashed.set(file, (r = resolveRawFile(dir, file)));
    return r;
  };
  const baseline = await planVariant(dir, resolve, config, null, {});
  const ablations: Record<string, PipelineVariant> = {};
  for (const n of names) ablations[n] = await planVariant(dir, resolve, config, n, config.ablations[n]!);
  const labelCatalogs = [];
  for (const { readme, ...cat } of config.label_catalogs)
    labelCatalogs.push({
      ...cat,
      file: await resolve(cat.file),
      ...(readme !== undefined ? { readme: await resolve(readme) } : {}),
    });
  return {
    data_dir: dir,
    label_catalogs: labelCatalogs,
    dedup: config.dedup,
    crossmatch: config.crossmatch,
    files: { muwclass: await resolve(config.catalogs.muwclass) },
    baseline,
    ablations,
    evaluation: config.evaluation,
    uncertainty: config.uncertainty,
    ...(config.xray_model.enabled ? { xray_model: { conformal_level: config.xray_model.conformal_level } } : {}),
    label_map: config.labels.map,
    no_data: config.input.no_data,
    concurrency: config.engine.concurrency,
    retry: config.retry,
    activities: activityOptions(config),
  };
}
