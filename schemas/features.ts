import { z } from 'zod';
import { defineTable, optionalNumber, type Row } from './table.js';

/** Params of the `features` stage (paper section 4.1; the HST filters are the SED stage's outputs). */
export const FeaturesParams = z.strictObject({
  xray_optical_filters: z.array(z.string().min(1)),
  galactic_parallax_mas: z.number().nonnegative(),
  include_gaia: z.boolean(),
  /** the SED fit's visual extinction as a feature (`sed_a_v`; 0 when extinction is off) */
  include_av: z.boolean(),
  /**
   * the X-ray-only feature set (lib/features.ts featureNames): every in-scope source, with
   * or without photometry, for the model of targets that have no counterpart; no SED input
   */
  xray_only: z.literal(true).optional(),
  /**
   * the distance features log_lx_plx and abs_g_plx where the parallax S/N exceeds this
   * (lib/features.ts); null: not computed (absent in runs planned before them: not computed)
   */
  distance_snr_min: z.number().positive().nullable().optional(),
});
export type FeaturesParams = z.infer<typeof FeaturesParams>;

/** How a feature matrix is made (filters, ratios): stored with features and models, so targets get the same. */
export const FeatureSpec = z.strictObject({
  /** HST filters in any order: colours follow pivot wavelength order */
  filters: z.array(z.strictObject({ name: z.string().min(1), pivot_aa: z.number().positive() })),
  /** the blue and red filters of the X-ray-to-optical ratios (F475W, F814W for PHAT) */
  xray_optical_filters: z.array(z.string().min(1)),
  /** parallax above which a source is flagged Galactic (mas) */
  galactic_parallax_mas: z.number().nonnegative(),
  include_gaia: z.boolean(),
  /** optional: older models' specs predate it */
  include_av: z.boolean().optional(),
  /** the X-ray-only feature set: no HST, Gaia or SED feature (absent: the full set) */
  xray_only: z.literal(true).optional(),
  /** the distance features where the parallax S/N exceeds this (absent: none) */
  distance_snr_min: z.number().positive().optional(),
});
export type FeatureSpec = z.infer<typeof FeatureSpec>;

/**
 * Long form, so any filter set gives its own columns: one row per source, draw and
 * feature (NULL = missing). Draw 0 comes from the translation itself, draws 1..n from
 * the SED posterior draws (training may use them; predictions use draw 0).
 */
export const featureValuesTable = defineTable('feature_values', {
  id: z.string().min(1),
  draw: z.number().int().nonnegative(),
  label: z.string().min(1),
  feature: z.string().min(1),
  value: optionalNumber(),
});
export type FeatureValueRow = Row<typeof featureValuesTable>;

export const featureDroppedTable = defineTable('feature_dropped', {
  id: z.string().min(1),
  label: z.string().nullable(),
  reason: z.string().min(1),
});
export type FeatureDroppedRow = Row<typeof featureDroppedTable>;
