import { z } from 'zod';
import { XClassLabel } from './classes.js';
import { RawFileRef } from './artifact.js';

/** No-data sentinels (config `input.no_data`): at most 50 finite numbers. */
export const NoDataValues = z.array(z.number()).max(50);

/** Params of `ingest` (MUWCLASS table -> `sources`). The file enters identity by its SHA-256. */
export const IngestParams = z.strictObject({
  catalog: RawFileRef,
  label_map: z.record(z.string().min(1), XClassLabel.nullable()),
  /** values that mean "no measurement" in magnitude, error, flux and probability columns (config input.no_data) */
  no_data: NoDataValues.optional(),
});
export type IngestParams = z.infer<typeof IngestParams>;

/** Params of `reference` (MUWCLASS table -> `reference_predictions`). */
export const ReferenceParams = z.strictObject({
  catalog: RawFileRef,
  pipeline: z.string().min(1),
  /** the competitor's class names must be labels this map knows */
  label_map: z.record(z.string().min(1), XClassLabel.nullable()).optional(),
  no_data: NoDataValues.optional(),
});
export type ReferenceParams = z.infer<typeof ReferenceParams>;

/** Where a raw file is on this machine: context, not identity. */
export const FileContext = z.object({ path: z.string().min(1) });
export type FileContext = z.infer<typeof FileContext>;

/** A stage that needs nothing from the machine it runs on. */
export const NoContext = z.object({});
export type NoContext = z.infer<typeof NoContext>;

/** Where the reference data folder is on this machine: context, not identity. */
export const DataDirContext = z.object({ data_dir: z.string().min(1) });
export type DataDirContext = z.infer<typeof DataDirContext>;
