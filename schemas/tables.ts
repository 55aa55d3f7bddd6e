import { z } from 'zod';
import { XClassLabel } from './classes.js';
import { defineTable, optionalNumber, type Row } from './table.js';

/** X-ray fluxes (erg/s/cm^2) with their 1-sigma errors and the CSC variability probabilities: columns of `sources` and of classify's `targets`. */
export const XRAY_FLUX_COLUMNS = {
  flux_s_cgs: optionalNumber(),
  flux_s_err_cgs: optionalNumber(),
  flux_m_cgs: optionalNumber(),
  flux_m_err_cgs: optionalNumber(),
  flux_h_cgs: optionalNumber(),
  flux_h_err_cgs: optionalNumber(),
  flux_b_cgs: optionalNumber(),
  flux_b_err_cgs: optionalNumber(),
  var_p_intra: optionalNumber(),
  var_p_inter: optionalNumber(),
};

/**
 * `sources`: one row per training source, normalised from a labelled catalog.
 * Fluxes are erg/s/cm^2; magnitudes are Vega as catalogued; angles in degrees,
 * positional errors in arcsec, parallax in mas, proper motion in mas/yr.
 */
export const sourcesTable = defineTable('sources', {
  id: z.string().min(1),
  ra_deg: z.number().min(0).lt(360),
  dec_deg: z.number().min(-90).max(90),
  /** XClass class, NULL when the catalogue label is out of scope (YSO, NS) */
  label: XClassLabel.nullable(),
  label_raw: z.string(),
  in_scope: z.boolean(),
  label_ref: z.string().nullable(),
  /** MK spectral type when the label catalog gives one (selects the nearest Pickles type) */
  spectral_type: z.string().nullable(),
  counterpart_name: z.string().nullable(),
  origin_catalog: z.string(),
  /** line in the origin file, for audits */
  origin_line: z.number().int().positive(),
  pos_err_95_arcsec: optionalNumber(),
  significance: optionalNumber(),
  /** CSC master-source flags, e.g. `extent|conf|pileup` */
  xray_flags: z.string().nullable(),
  ...XRAY_FLUX_COLUMNS,
  gaia_g_mag: optionalNumber(),
  gaia_g_err_mag: optionalNumber(),
  gaia_bp_mag: optionalNumber(),
  gaia_bp_err_mag: optionalNumber(),
  gaia_rp_mag: optionalNumber(),
  gaia_rp_err_mag: optionalNumber(),
  tmass_j_mag: optionalNumber(),
  tmass_j_err_mag: optionalNumber(),
  tmass_h_mag: optionalNumber(),
  tmass_h_err_mag: optionalNumber(),
  tmass_ks_mag: optionalNumber(),
  tmass_ks_err_mag: optionalNumber(),
  /** Pan-STARRS1 DR2 mean PSF magnitudes (AB); NULL where the catalog has none (MUWCLASS has none) */
  ps1_g_mag: optionalNumber(),
  ps1_g_err_mag: optionalNumber(),
  ps1_r_mag: optionalNumber(),
  ps1_r_err_mag: optionalNumber(),
  ps1_i_mag: optionalNumber(),
  ps1_i_err_mag: optionalNumber(),
  ps1_z_mag: optionalNumber(),
  ps1_z_err_mag: optionalNumber(),
  ps1_y_mag: optionalNumber(),
  ps1_y_err_mag: optionalNumber(),
  wise_w1_mag: optionalNumber(),
  wise_w1_err_mag: optionalNumber(),
  wise_w2_mag: optionalNumber(),
  wise_w2_err_mag: optionalNumber(),
  wise_w3_mag: optionalNumber(),
  wise_w3_err_mag: optionalNumber(),
  parallax_mas: optionalNumber(),
  parallax_err_mas: optionalNumber(),
  pm_total_masyr: optionalNumber(),
  dist_geo_pc: optionalNumber(),
  dist_geo_lo_pc: optionalNumber(),
  dist_geo_hi_pc: optionalNumber(),
});
export type SourceRow = Row<typeof sourcesTable>;

/**
 * `reference_predictions`: the competitor pipeline's own predictions carried by a
 * labelled catalog (MUWCLASS `Class`, `Class_prob`, `P_*`). Kept apart so they can
 * never become features; used only to compare metrics on the same sources.
 */
export const referencePredictionsTable = defineTable('reference_predictions', {
  id: z.string().min(1),
  pipeline: z.string(),
  predicted_class: z.string(),
  predicted_prob: optionalNumber(),
  predicted_prob_err: optionalNumber(),
  /** the competitor's classification confidence threshold (MUWCLASS `CT`) */
  confidence_threshold: optionalNumber(),
  p_agn: optionalNumber(),
  p_cv: optionalNumber(),
  p_hm_star: optionalNumber(),
  p_hmxb: optionalNumber(),
  p_lm_star: optionalNumber(),
  p_lmxb: optionalNumber(),
  p_ns: optionalNumber(),
  p_yso: optionalNumber(),
});
export type ReferencePredictionRow = Row<typeof referencePredictionsTable>;
