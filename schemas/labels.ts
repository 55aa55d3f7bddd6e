import { z } from 'zod';
import { RawFileRef } from './artifact.js';
import { defineTable, optionalNumber, type Row } from './table.js';

const LABEL_FORMATS = [
  'muwclass',
  'liu2007_lmxb',
  'liu2006_hmxb',
  'mcgill_magnetar',
  'fortin2023_hmxb',
  'fortin2024_lmxb',
  'abril2020_cv',
] as const;

/** One labelled catalog and the class its rows feed (null: the class comes from the catalog's own column). */
export const LabelCatalog = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/),
  file: z.string().min(1),
  format: z.enum(LABEL_FORMATS),
  class: z.string().min(1).nullable(),
  reference: z.string().min(1),
  /** the VizieR ReadMe describing a fixed-width table's columns (format abril2020_cv), relative to the data folder */
  readme: z.string().min(1).optional(),
});
export type LabelCatalog = z.infer<typeof LabelCatalog>;

export const LabelsParams = z.strictObject({
  catalog: RawFileRef,
  name: z.string().min(1),
  format: z.enum(LABEL_FORMATS),
  class: z.string().min(1).nullable(),
  reference: z.string().min(1),
  label_map: z.record(z.string().min(1), z.string().nullable()),
  /** the ReadMe a fixed-width catalog is read through: part of identity, like the catalog */
  readme: RawFileRef.optional(),
});
export type LabelsParams = z.infer<typeof LabelsParams>;

export const DedupParams = z.strictObject({
  radius_arcsec: z.number().positive(),
  always_merge_arcsec: z.number().nonnegative(),
  snr_radius_arcsec: z.number().positive(),
});
export type DedupParams = z.infer<typeof DedupParams>;

export const CrossmatchParams = z.strictObject({
  min_significance: z.number(),
  min_radius_arcsec: z.number().nonnegative(),
  radius_sigmas: z.number().positive(),
});
export type CrossmatchParams = z.infer<typeof CrossmatchParams>;

/** Normalised label rows: from one catalog (`labels`) or merged across catalogs (`dedup`). */
export const labelRowsTable = defineTable('label_rows', {
  name: z.string(),
  /** other names, `|`-separated */
  alt_names: z.string(),
  ra_deg: z.number().min(0).lt(360),
  dec_deg: z.number().min(-90).max(90),
  /** XClass class, or NULL for a label out of scope (YSO, NS) */
  class: z.string().nullable(),
  class_raw: z.string(),
  /** catalog name(s), `|`-separated after deduplication */
  catalog: z.string(),
  reference: z.string(),
  /** line in the catalog file; the smallest member's after deduplication */
  line: z.number().int().positive(),
  /** an X-ray position (preferred for SNR positions) */
  is_xray: z.boolean(),
  /** spin period (s) where the catalog gives one */
  period_s: optionalNumber(),
  /** the catalogue's own subtype (HMXB Be/sg/SFXT, LMXB NS/BH confirmed/candidate, CV DN/NL/AM...), `|`-separated after deduplication */
  subclass: z.string().nullable(),
  /** identifiers the catalogue gives (CSC 2.0 name, Gaia source id, 2MASS designation), `|`-separated after deduplication */
  csc_name: z.string().nullable(),
  gaia_id: z.string().nullable(),
  twomass_id: z.string().nullable(),
  members: z.number().int().positive(),
});
export type LabelRow = Row<typeof labelRowsTable>;

export const skippedRowsTable = defineTable('skipped_rows', {
  catalog: z.string(),
  line: z.number().int().positive(),
  reason: z.string().min(1),
});
export type SkippedRow = Row<typeof skippedRowsTable>;

export const labelMatchesTable = defineTable('matches', {
  name: z.string(),
  class: z.string().nullable(),
  catalog: z.string(),
  ra_deg: z.number(),
  dec_deg: z.number(),
  xray_id: z.string().nullable(),
  xray_label: z.string().nullable(),
  sep_arcsec: optionalNumber(),
  sigma_eff_arcsec: optionalNumber(),
  nu: optionalNumber(),
  quality: z.enum(['secure', 'ambiguous', 'none']),
  alternatives: z.number().int().nonnegative(),
});
export type LabelMatchRow = Row<typeof labelMatchesTable>;

/** What training does with a source whose catalogues disagree (lib/sky/provenance.ts `trainedUnder`). */
export const LabelConflictPolicy = z.enum(['keep', 'drop', 'require_agreement']);
export type LabelConflictPolicy = z.infer<typeof LabelConflictPolicy>;

/** `provenance`: matched by the cross-match's rules (paper section 2.3) where a catalogue gives no CSC name. */
export const ProvenanceParams = CrossmatchParams.extend({
  /** the label catalog whose labels training uses (the MUWCLASS table): the others are compared with it */
  training_catalog: z.string().min(1),
});
export type ProvenanceParams = z.infer<typeof ProvenanceParams>;

/** Every catalogue row labelling a training source: MUWCLASS's own label first, then each other catalogue's. */
export const labelProvenanceTable = defineTable('label_provenance', {
  id: z.string().min(1),
  /** the training (MUWCLASS) label */
  label: z.string().min(1),
  catalog: z.string().min(1),
  /** the catalogue's name for the source */
  name: z.string(),
  /** the catalogue's XClass class, NULL when out of scope (a magnetar) */
  class: z.string().nullable(),
  class_raw: z.string(),
  subclass: z.string().nullable(),
  /** `muwclass`: the training table's own label; `name`: by the CSC 2.0 name the catalogue gives; `position`: cross-matched */
  match_by: z.enum(['muwclass', 'name', 'position']),
  sep_arcsec: optionalNumber(),
  nu: optionalNumber(),
  /** the reference the catalogue (or the MUWCLASS row's Class_ref) gives */
  reference: z.string(),
});
export type LabelProvenanceRow = Row<typeof labelProvenanceTable>;

/** Per training source: the other catalogues labelling it, their labels, and the agreement. */
export const labelStatusTable = defineTable('label_status', {
  id: z.string().min(1),
  label: z.string().min(1),
  /** the other catalogues, `|`-separated (empty: none) */
  catalogs: z.string(),
  /** their labels as catalog:class_raw[/subclass], `|`-separated */
  labels: z.string(),
  agreement: z.enum(['unconfirmed', 'agree', 'conflict']),
});
export type LabelStatusRow = Row<typeof labelStatusTable>;

/** The label-agreement table in long form: training label x (catalogue, its label) -> sources; catalog `none` counts sources no other catalogue labels. */
export const labelAgreementTable = defineTable('label_agreement', {
  label: z.string().min(1),
  catalog: z.string().min(1),
  catalog_label: z.string(),
  sources: z.number().int().nonnegative(),
});
export type LabelAgreementRow = Row<typeof labelAgreementTable>;
