import { z } from 'zod';
import { XClassLabel } from './classes.js';
import { RawFileRef } from './artifact.js';

/** Params of `ingest` (MUWCLASS table -> `sources`). The file enters identity by its SHA-256. */
export const IngestParams = z.strictObject({
  catalog: RawFileRef,
  label_map: z.record(z.string().min(1), XClassLabel.nullable()),
});
export type IngestParams = z.infer<typeof IngestParams>;

/** Params of `reference` (MUWCLASS table -> `reference_predictions`). */
export const ReferenceParams = z.strictObject({
  catalog: RawFileRef,
  pipeline: z.string().min(1),
});
export type ReferenceParams = z.infer<typeof ReferenceParams>;

/** Where a raw file is on this machine: context, not identity. */
export const FileContext = z.object({ path: z.string().min(1) });
