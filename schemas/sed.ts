import { z } from 'zod';
import { RawFileRef } from './artifact.js';
import { defineTable, optionalNumber, type Row } from './table.js';
import { sourcesTable } from './tables.js';

const SURVEYS = ['gaia', '2mass', 'ps1'] as const;
const Survey = z.enum(SURVEYS);

const sourceColumns = Object.keys(sourcesTable.row.shape) as [string, ...string[]];

export const MagSystemSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ab') }),
  z.strictObject({ kind: z.literal('st') }),
  z.strictObject({ kind: z.literal('vega_zp'), zero_point_jy: z.number().positive() }),
  z.strictObject({ kind: z.literal('vega_spectrum'), vega_mag: z.number() }),
]);

/** One ground-based input band: which filter curve, which `sources` columns, which magnitude system. */
export const InputBand = z.strictObject({
  name: z.string().min(1),
  survey: Survey,
  filter: z.string().min(1),
  mag_column: z.enum(sourceColumns),
  err_column: z.enum(sourceColumns),
  system: MagSystemSchema,
});
export type InputBand = z.infer<typeof InputBand>;

/** The SED translation settings that change its result (config `sed`, minus file locations). */
export const SedSettings = z.strictObject({
  input_bands: z.array(InputBand).min(1),
  /** which surveys feed the fit: all, no 2MASS, Gaia only, PS1 only are the ablations */
  surveys: z.array(Survey).min(1),
  /** HST filters to predict, by curve name (e.g. HST_WFC3_UVIS.F275W) */
  output_filters: z.array(z.string().min(1)).min(1),
  /** `photon`: integral f_nu T dl/l (AB, photon-counting); `paper_eq3`: integral f_nu T dl (the method's Eq. 3) */
  convention: z.enum(['photon', 'paper_eq3']),
  /**
   * `paper`: Table 2's class-to-family mapping (the label picks the template);
   * `class_blind`: Pickles/blackbody for every class; `label_free`: every family fitted
   * and averaged over the fit posterior, no label used (lib/sed/translate.ts)
   */
  assignment: z.enum(['paper', 'class_blind', 'label_free']),
  missing_err_frac: z.number().positive(),
  /** systematic floor added in quadrature to every input magnitude error before fitting (0 = the method) */
  err_floor_mag: z.number().nonnegative(),
  /**
   * Extinction as a fit parameter: the stellar, blackbody and two-component families
   * (stars, XRBs, CVs) are reddened by A_V = 0, step, ..., a_v_max with the CCM89 law
   * at R_V; a_v_max = 0 turns it off (the method).
   */
  extinction: z
    .strictObject({
      law: z.literal('ccm89'),
      r_v: z.number().positive().max(10),
      a_v_max: z.number().nonnegative().max(20),
      a_v_step: z.number().positive(),
    })
    // the grid multiplies every reddened family: bounded so a typo cannot make it millions of models
    .refine((e) => e.a_v_max / e.a_v_step <= 100, 'at most 100 A_V grid steps (a_v_max / a_v_step <= 100)'),
  /** the label-free model average: family priors and posterior draws per source (used by `label_free`) */
  label_free: z.strictObject({
    priors: z.strictObject({
      pickles: z.number().nonnegative(),
      composite: z.number().nonnegative(),
      powerlaw: z.number().nonnegative(),
      blackbody: z.number().nonnegative(),
      two_component_lmxb: z.number().nonnegative(),
      two_component_hmxb: z.number().nonnegative(),
      /** the Vanden Berk et al. composite on the redshift grid (`agn_redshift`), cut where it does not reach a band */
      composite_z: z.number().nonnegative().optional(),
      /** the Salvato et al. 2009 AGN and AGN+galaxy templates on the redshift grid */
      salvato: z.number().nonnegative().optional(),
    }),
    /** translations drawn from each source's fit posterior (0 = none); training uses them when present */
    draws: z.number().int().min(0).max(100),
    seed: z.number().int().min(0),
  }),
  /**
   * The redshifted AGN families (label-free priors composite_z, salvato): the redshift grid
   * z_min..z_max by z_step and its prior, `flat` or a Gamma distribution in z (shape k,
   * scale theta: p(z) ~ z^(k-1) exp(-z/theta); k = 3, theta = 0.35 puts the mean at
   * z = 1.05 and the mode at 0.7, the redshifts of X-ray-selected AGN at the depth of
   * Chandra's nearby-galaxy fields, e.g. Marchesi et al. 2016 for Chandra-COSMOS Legacy).
   * Absent from a translation's params when neither family has a prior (it cannot change the result).
   */
  agn_redshift: z
    .strictObject({
      z_min: z.number().min(0).max(10),
      z_max: z.number().min(0).max(10),
      z_step: z.number().positive(),
      prior: z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('flat') }),
        z.strictObject({ kind: z.literal('gamma'), shape: z.number().min(1), scale: z.number().positive() }),
      ]),
      /** LePhare list of the Salvato et al. 2009 templates, relative to the data folder; each line a file in its folder */
      salvato_list: z.string().min(1),
    })
    .refine((r) => r.z_max >= r.z_min, 'z_max must not be below z_min')
    .refine(
      (r) => (r.z_max - r.z_min) / r.z_step <= 100,
      'at most 100 redshift steps ((z_max - z_min) / z_step <= 100)',
    )
    .optional(),
  sigma_chi2_coeff: z.number().positive(),
  sigma_cap_mag: z.number().positive(),
  uv_sigma_mag: z.number().nonnegative(),
  uv_pivot_aa: z.number().positive(),
  /** Pickles codes (file uk<code>.dat) of the two-component model's star */
  lmxb_star: z.string().min(1),
  hmxb_star: z.string().min(1),
  consistency: z.strictObject({ chi2_red_max: z.number().positive(), filters: z.array(z.string().min(1)) }),
  templates: z.strictObject({ composite: z.string().min(1), vega: z.string().min(1) }),
});
export type SedSettings = z.infer<typeof SedSettings>;

/** Params of the `sed` stage: the settings plus every data file it reads, by SHA-256. */
export const SedParams = SedSettings.extend({ data_files: z.array(RawFileRef).min(1) });
export type SedParams = z.infer<typeof SedParams>;

export const sedFitsTable = defineTable('sed_fits', {
  id: z.string().min(1),
  label: z.string().nullable(),
  status: z.enum(['ok', 'failed', 'skipped']),
  reason: z.string().nullable(),
  family: z.string().nullable(),
  model: z.string().nullable(),
  model_value: optionalNumber(),
  chi2_red: z.number().nonnegative().nullable(),
  n_bands: z.number().int().nonnegative(),
  bands_used: z.string(),
  anchor_band: z.string().nullable(),
  used_fallback: z.boolean(),
  a_v: optionalNumber(),
  family_posterior: z.string().nullable(),
});
export type SedFitRow = Row<typeof sedFitsTable>;

/**
 * Predicted HST magnitudes, one row per source, draw and output filter (long form: any
 * filter set). Draw 0 is the translation itself; draws 1..n are models drawn from the
 * label-free fit posterior (table `draws` says which).
 */
export const sedMagsTable = defineTable('sed_mags', {
  id: z.string().min(1),
  draw: z.number().int().nonnegative(),
  filter: z.string().min(1),
  pivot_aa: z.number().positive(),
  mag_ab: optionalNumber(),
  mag_err: z.number().nonnegative().nullable(),
});
export type SedMagRow = Row<typeof sedMagsTable>;

/** The model behind each posterior draw (draw >= 1). */
export const sedDrawsTable = defineTable('sed_draws', {
  id: z.string().min(1),
  draw: z.number().int().positive(),
  family: z.string().min(1),
  model: z.string().min(1),
  a_v: z.number().nonnegative(),
});
export type SedDrawRow = Row<typeof sedDrawsTable>;

/** Summary statistics for the report: per class (or `all`), one metric per row. */
export const sedDiagnosticsTable = defineTable('sed_diagnostics', {
  group: z.string().min(1),
  metric: z.string().min(1),
  value: optionalNumber(),
  n: z.number().int().nonnegative(),
});
export type SedDiagnosticRow = Row<typeof sedDiagnosticsTable>;

/**
 * Per label-free translation with the redshifted AGN families (written only when they
 * are fitted): the posterior-mean redshift over those families' models, and their share
 * of the posterior (how much the fit believes it is one of them).
 */
export const sedRedshiftTable = defineTable('sed_redshift', {
  id: z.string().min(1),
  label: z.string().nullable(),
  z_mean: optionalNumber(),
  p_redshifted: z.number().min(0).max(1),
});
export type SedRedshiftRow = Row<typeof sedRedshiftTable>;
