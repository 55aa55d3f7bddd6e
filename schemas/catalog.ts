import { z } from 'zod';
import { ClassifyUncertainty, emShareColumns } from './uncertainty.js';
import { RawFileRef } from './artifact.js';
import { FetchedInput } from './fetch.js';
import { XClassLabel } from './classes.js';
import { defineTable, optionalNumber, type Row } from './table.js';
import { MagSystemSchema } from './sed.js';
import { XRAY_FLUX_COLUMNS } from './tables.js';

/**
 * Column mappings of the tables astronomers bring to `classify`: an X-ray source list
 * and photometry catalogs, each in whatever layout its archive writes. A mapping names
 * the columns XClass reads; presets (`catalog-presets.ts`) cover CSC 2.0, Gaia DR3,
 * 2MASS, Pan-STARRS DR2, the Hubble Source Catalog and the MUWCLASS training layout.
 */
const Column = z.string().min(1);

/** `AB`, `Vega` (zero point from the CALSPEC Vega spectrum through the filter) or `ST`, or a system as the SED settings write it. */
export const MagSystemName = z.union([z.enum(['AB', 'Vega', 'ST']), MagSystemSchema]);
export type MagSystemName = z.infer<typeof MagSystemName>;

/** One magnitude column: its filter curve (a file name in the data folder's filters/) and its system. */
export const MagnitudeColumn = z.strictObject({
  column: Column,
  /** 1-sigma magnitude error column */
  err: Column.optional(),
  /** or a flux signal-to-noise column (Gaia's phot_*_mean_flux_over_error): err = 2.5/ln(10)/snr */
  snr: Column.optional(),
  filter: z.string().min(1),
  system: MagSystemName,
  /**
   * the column's system differs from its survey's own (Gaia's VEGAMAG, 2MASS's zero
   * points, AB for Pan-STARRS) on purpose: without it such a column is refused, since a
   * system given by mistake shifts every magnitude silently
   */
  system_explicit: z.literal(true).optional(),
});
export type MagnitudeColumn = z.infer<typeof MagnitudeColumn>;

/** A positional uncertainty: the CSC 95% error ellipse, a 95% radius, or 1-sigma errors. */
export const PositionError = z.discriminatedUnion('kind', [
  /** semi-axes of the 95% error ellipse, arcsec (CSC err_ellipse_r0/r1); sigma_eff = sqrt((r0^2 + r1^2)/2) as the method */
  z.strictObject({ kind: z.literal('ellipse95'), r0: Column, r1: Column }),
  /** a 95% error radius, arcsec (MUWCLASS CSCv2_PU) */
  z.strictObject({ kind: z.literal('r95'), column: Column }),
  /** 1-sigma errors per axis (Gaia ra_error, dec_error), in the unit given */
  z.strictObject({ kind: z.literal('sigma_radec'), ra: Column, dec: Column, unit: z.enum(['arcsec', 'mas']) }),
  /** one 1-sigma error for every row, arcsec (a catalog that publishes none) */
  z.strictObject({ kind: z.literal('fixed'), sigma_arcsec: z.number().positive() }),
]);
export type PositionError = z.infer<typeof PositionError>;

/** An X-ray flux (erg/s/cm^2) with a 1-sigma error column or confidence limits. */
export const FluxColumn = z.strictObject({
  value: Column,
  err: Column.optional(),
  lo: Column.optional(),
  hi: Column.optional(),
});
export type FluxColumn = z.infer<typeof FluxColumn>;

/**
 * Extra astrometry a catalog may carry: parallax and its 1-sigma error (mas), a geometric
 * distance (pc, Bailer-Jones et al. 2021 `r_med_geo`), total proper motion or its
 * components (mas/yr).
 */
const Astrometry = {
  parallax: Column.optional(),
  parallax_error: Column.optional(),
  distance: Column.optional(),
  pm_total: Column.optional(),
  pmra: Column.optional(),
  pmdec: Column.optional(),
};

export const XrayMapping = z.strictObject({
  id: Column,
  /** degrees or sexagesimal text; absent only in a table that is already matched */
  ra: Column.optional(),
  dec: Column.optional(),
  position_error: PositionError.optional(),
  significance: Column.optional(),
  /** soft 0.5-1.2, medium 1.2-2, hard 2-7, broad 0.5-7 keV */
  fluxes: z.strictObject({ s: FluxColumn, m: FluxColumn, h: FluxColumn, b: FluxColumn }),
  var_intra_prob: Column.optional(),
  var_inter_prob: Column.optional(),
  /** a known class per row: classify then scores itself */
  label: Column.optional(),
  /** photometry of a counterpart already matched in the same row (the MUWCLASS layout, an earlier match) */
  magnitudes: z.array(MagnitudeColumn).optional(),
  /** a normalised separation already measured for that counterpart */
  nu: Column.optional(),
  a_v: Column.optional(),
  /**
   * column -> factor turning the unit its file declares into the one this mapping reads
   * (degrees; arcsec for 95% errors, the sigma_radec unit for 1-sigma ones; mas, mas/yr,
   * pc; erg/s/cm^2): filled by the classify plan from VOTable, FITS, ECSV and IPAC headers
   */
  scales: z.record(Column, z.number().positive()).optional(),
  ...Astrometry,
});
export type XrayMapping = z.infer<typeof XrayMapping>;

export const PhotometryMapping = z.strictObject({
  /** absent: a catalog without ids, whose rows are named by line (`row12`) and merged when two lie within 0.1" */
  id: Column.optional(),
  ra: Column,
  dec: Column,
  position_error: PositionError.optional(),
  magnitudes: z.array(MagnitudeColumn).min(1),
  /**
   * column -> factor turning the unit its file declares into the one this mapping reads
   * (degrees; arcsec for 95% errors, the sigma_radec unit for 1-sigma ones; mas, mas/yr,
   * pc; erg/s/cm^2): filled by the classify plan from VOTable, FITS, ECSV and IPAC headers
   */
  scales: z.record(Column, z.number().positive()).optional(),
  ...Astrometry,
});
export type PhotometryMapping = z.infer<typeof PhotometryMapping>;

/**
 * Counterpart settings. `rule` picks the counterpart used for features: `method` the
 * nearest candidate by nu within R = max(radius_sigmas sigma_eff, min_radius) (paper
 * section 2.3), `bayes` the candidate with the highest posterior when p_any >= p_any_min.
 */
export const CounterpartSettings = z.strictObject({
  rule: z.enum(['method', 'bayes']),
  radius_sigmas: z.number().positive(),
  min_radius_arcsec: z.number().positive(),
  /** prior probability that a source's counterpart is in the catalog (NWAY's completeness) */
  prior_completeness: z.number().gt(0).lt(1),
  p_any_min: z.number().min(0).max(1),
  /** the local source density is counted within this radius of each source */
  density_radius_arcsec: z.number().positive(),
  /** false-match rate: the match repeated at positions shifted by these many search radii (4 directions each) */
  shift_radii: z.array(z.number().positive()).max(20),
  /** at most this many shifted positions per catalog (sources taken at an even stride): the rate's error is ~ sqrt(p/n) */
  shift_max_trials: z.number().int().min(100),
  /**
   * added in quadrature to each catalog's 1-sigma when members of one counterpart set are
   * compared (frame systematics; a star's motion between Gaia's and 2MASS's epochs)
   */
  member_sigma_floor_arcsec: z.number().nonnegative(),
  frame_tie: z.boolean(),
  /** secure matches needed before a frame tie is applied */
  frame_tie_min_matches: z.number().int().min(1),
});
export type CounterpartSettings = z.infer<typeof CounterpartSettings>;

export const PhotometryCatalog = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/),
  table: RawFileRef,
  mapping: PhotometryMapping,
});
export type PhotometryCatalog = z.infer<typeof PhotometryCatalog>;

/** Params of `classify`: every file enters identity by its SHA-256, every column by the resolved mapping. */
export const ClassifyParams = z.strictObject({
  table: RawFileRef,
  mapping: XrayMapping,
  photometry: z.array(PhotometryCatalog).max(20),
  counterparts: CounterpartSettings,
  /** how a label column's values map to XClass classes (null: out of scope, not scored) */
  label_map: z.record(z.string().min(1), XClassLabel.nullable()).optional(),
  /** how scored labels and predictions are compared (config evaluation: eval_classes merges LM-STAR and HM-STAR into STAR) */
  scoring: z
    .strictObject({
      eval_classes: z.record(z.string().min(1), z.string().min(1)),
      calibration_bins: z.number().int().min(2).max(100),
    })
    .optional(),
  /** filter curves of the target bands and the Vega spectrum, read from the data folder */
  data_files: z.array(RawFileRef),
  no_data: z.array(z.number()).max(50).optional(),
  /** Monte-Carlo draws, the OOD score, the conformal level, the uncertain rule, the class-mix estimate */
  uncertainty: ClassifyUncertainty,
  /** the tables that came from TAP services (`classify --cone`): which fetch artifact, service, ADQL and when; absent for files */
  fetched: z.array(FetchedInput).max(21).optional(),
});
export type ClassifyParams = z.infer<typeof ClassifyParams>;

/** What matching a zone needs of the whole field: its largest positional error and how many sources have a position. */
export const FieldFacts = z.strictObject({
  max_sigma_eff_arcsec: z.number().nonnegative(),
  positioned: z.number().int().nonnegative(),
});
export type FieldFacts = z.infer<typeof FieldFacts>;

/** One catalog's counts in a zone of a field, summed over its zones (activities/classify-match.ts matchZone). */
export const ZoneCatalogCounts = z.strictObject({
  reached: z.number().int().nonnegative(),
  with_candidate: z.number().int().nonnegative(),
  method_secure: z.number().int().nonnegative(),
  method_ambiguous: z.number().int().nonnegative(),
  counterparts_used: z.number().int().nonnegative(),
  shift_hits: z.number().int().nonnegative(),
  /** the catalog rows the zone owns (the field's catalog size is their sum) */
  catalog_rows: z.number().int().nonnegative(),
  /** the zone's catalog rows' centre (RA Dec), for the message when no source reaches the catalog ('' where one does) */
  centre: z.string(),
});
export type ZoneCatalogCounts = z.infer<typeof ZoneCatalogCounts>;

/**
 * One declination zone of a field classified as its own step (`classify_zone`, lib/sky/zones.ts):
 * the classification's params, the zone, and what matching needs of the whole field (its
 * largest positional error and how many sources have a position: the search index's
 * radius, the zone's margin and the false-match rate's stride).
 */
export const ClassifyZoneParams = ClassifyParams.extend({
  zone: z.strictObject({
    index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    lo: z.number().min(-90).max(90),
    hi: z.number().min(-90).max(90),
    last: z.boolean(),
  }),
  field: FieldFacts,
});
export type ClassifyZoneParams = z.infer<typeof ClassifyZoneParams>;

/** A zone's labelled sources' final probabilities as the model gave them (the probabilities table clamps them to [0, 1]), for the field's self-score. */
export const zoneVectorsTable = defineTable('classify_zone_vectors', {
  id: z.string().min(1),
  k: z.number().int().nonnegative(),
  p: z.number(),
});
export type ZoneVectorRow = Row<typeof zoneVectorsTable>;

/** A zone's sources' p_any per catalog (`trial` -1) and at each shifted position of the false-match rate, for the field's sums in its order. */
export const zoneMatchPTable = defineTable('classify_zone_match_p', {
  line: z.number().int().positive(),
  catalog: z.string().min(1),
  trial: z.number().int().min(-1),
  p_any: z.number().min(0),
});
export type ZoneMatchPRow = Row<typeof zoneMatchPTable>;

/** What the field's notes need of a zone besides its rows (notes `zone` of a classify_zone artifact). */
export const ZoneNotes = z.strictObject({
  /** per catalog: its counts in the zone */
  counts: z.array(ZoneCatalogCounts),
  /** per route and feature: the values imputed */
  imputed: z.partialRecord(z.enum(['full', 'xray_only']), z.record(z.string(), z.number().int().nonnegative())),
  /** no-data markers per column with the line of the first: the X-ray table's, then per catalog */
  xray_markers: z.array(z.tuple([z.string(), z.number().int().positive(), z.number().int().nonnegative()])),
  catalog_markers: z.array(z.array(z.tuple([z.string(), z.number().int().positive(), z.number().int().nonnegative()]))),
  /** repeats merged: the X-ray table's, then per catalog */
  xray_merged: z.number().int().nonnegative(),
  catalog_merged: z.array(z.number().int().nonnegative()),
});
export type ZoneNotes = z.infer<typeof ZoneNotes>;

/**
 * The field's class proportions (config uncertainty.class_mix.estimate): per class the
 * raw census share (predicted classes), the EM estimate on the bias-corrected
 * posteriors (Saerens et al. 2002; corrections from the model's cross-validation) and
 * its bootstrap 95% interval.
 */
export const classifyClassMixTable = defineTable('classify_class_mix', {
  class: z.string().min(1),
  n: z.number().int().positive(),
  census_share: z.number().min(0).max(1),
  training_share: z.number().min(0).max(1),
  ...emShareColumns,
});
export type ClassifyClassMixRow = Row<typeof classifyClassMixTable>;

/** Where the tables and the data folder are on this machine: context, not identity. */
export const ClassifyContext = z.object({
  paths: z.record(z.string(), z.string().min(1)),
  data_dir: z.string().min(1),
  /** X-ray sources per declination zone when matching (config classify.zone_sources; the results do not depend on it) */
  zone_sources: z.number().int().positive().optional(),
  /** MB of the photometry catalogs a zone reads about (config classify.zone_catalog_mb) */
  zone_catalog_mb: z.number().positive().optional(),
});
export type ClassifyContext = z.infer<typeof ClassifyContext>;

/**
 * Population shift: per model route and feature, the targets' values against the model's
 * training rows (lib/metrics/shift.ts), before imputation; missing values are counted,
 * not compared.
 */
export const populationShiftTable = defineTable('classify_population_shift', {
  model_used: z.enum(['full', 'xray_only']),
  feature: z.string().min(1),
  n_training: z.number().int().nonnegative(),
  n_targets: z.number().int().nonnegative(),
  missing_share_training: z.number().min(0).max(1),
  missing_share_targets: z.number().min(0).max(1),
  median_training: optionalNumber(),
  median_targets: optionalNumber(),
  /** two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value (NULL when either side has no value) */
  ks_d: optionalNumber(),
  ks_p: optionalNumber(),
  /** population stability index over the training deciles (< 0.1 none, 0.1-0.25 moderate, > 0.25 large) */
  psi: optionalNumber(),
});
export type PopulationShiftRow = Row<typeof populationShiftTable>;

/**
 * The members of each source's counterpart set, pairwise (lib/sky/counterparts.ts
 * jointCounterparts): their separation, its 1-sigma, whether they agree within 3 sigma,
 * and whether the pair was kept (false: the per-catalog choices disagreed, and the joint
 * set left one of them out).
 */
export const counterpartPairsTable = defineTable('classify_counterpart_pairs', {
  id: z.string().min(1),
  catalog_a: z.string().min(1),
  candidate_a: z.string().min(1),
  catalog_b: z.string().min(1),
  candidate_b: z.string().min(1),
  sep_arcsec: z.number().nonnegative(),
  sigma_arcsec: z.number().nonnegative(),
  agree: z.boolean(),
  kept: z.boolean(),
});
export type CounterpartPairRow = Row<typeof counterpartPairsTable>;

/** Every candidate counterpart of every source in every catalog. */
export const counterpartMatchesTable = defineTable('classify_matches', {
  id: z.string().min(1),
  catalog: z.string().min(1),
  candidate: z.string().min(1),
  ra_deg: z.number(),
  dec_deg: z.number(),
  sep_arcsec: z.number().nonnegative(),
  nu: z.number().nonnegative(),
  /** the method's grade of this candidate: secure nu <= 2, ambiguous 2 < nu <= 3, else outside */
  quality: z.enum(['secure', 'ambiguous', 'outside']),
  /** rank by nu among the source's candidates in this catalog (1 = nearest) */
  rank: z.number().int().positive(),
  /** posterior that this candidate is the counterpart, and that the source has one in this catalog */
  p_i: z.number().min(0).max(1),
  p_any: z.number().min(0).max(1),
  /** local density of catalog sources, per arcsec^2 */
  density_arcsec2: z.number().nonnegative(),
  chosen: z.boolean(),
});
export type CounterpartMatchRow = Row<typeof counterpartMatchesTable>;

/** Per source: where it is, what it was matched to and why, and how its features were made. */
export const targetsTable = defineTable('classify_targets', {
  id: z.string().min(1),
  line: z.number().int().positive(),
  ra_deg: optionalNumber(),
  dec_deg: optionalNumber(),
  sigma_eff_arcsec: optionalNumber(),
  significance: optionalNumber(),
  ...XRAY_FLUX_COLUMNS,
  /** counterparts used, `catalog:id` joined by `;`, and why each was chosen */
  counterparts: z.string().nullable(),
  counterpart_reason: z.string(),
  /** `secure`, `ambiguous`, `bayes`, `prematched` or `none` */
  match_quality: z.string().min(1),
  nu: optionalNumber(),
  /** HST magnitudes: `observed`, `translated`, `mixed` (some of each) or `none` */
  hst_provenance: z.enum(['observed', 'translated', 'mixed', 'none']),
  /**
   * the model that classified the source: `full` (X-ray and optical features) when it has
   * every HST magnitude the model reads, observed or translated; else `xray_only`, the
   * model that never saw imputed optical features (when the classify step has one)
   */
  model_used: z.enum(['full', 'xray_only']),
  /** that model's train artifact and the evaluate artifact calibrating it (null: none) */
  model_id: z.string().min(1),
  calibration_id: z.string().nullable(),
  /** the parallax used (the table's own, else the counterpart's), mas, and its S/N; a geometric distance when mapped, pc */
  parallax_mas: optionalNumber(),
  parallax_snr: optionalNumber(),
  dist_geo_pc: optionalNumber(),
  n_bands: z.number().int().nonnegative(),
  bands: z.string(),
  sed_status: z.string(),
  sed_family: z.string().nullable(),
  sed_chi2_red: optionalNumber(),
  label: z.string().nullable(),
});
export type TargetRow = Row<typeof targetsTable>;

/** AB magnitudes per source and band as used: observed (from which catalog) or translated into the model's filters. */
export const targetMagsTable = defineTable('classify_mags', {
  id: z.string().min(1),
  filter: z.string().min(1),
  pivot_aa: z.number().positive(),
  mag_ab: z.number(),
  mag_err: optionalNumber(),
  /** `observed` or `translated` */
  origin: z.enum(['observed', 'translated']),
  /** the catalog it came from (`table` for the X-ray table's own columns), or `sed` */
  source: z.string().min(1),
});
export type TargetMagRow = Row<typeof targetMagsTable>;

/** The feature matrix as classified: the value before imputation and where it came from. */
export const targetFeaturesTable = defineTable('classify_features', {
  id: z.string().min(1),
  feature: z.string().min(1),
  value: optionalNumber(),
  used: z.number(),
  /** `observed` (from measured values only), `translated` (needs a translated HST magnitude) or `imputed` (training median) */
  provenance: z.enum(['observed', 'translated', 'imputed']),
});
export type TargetFeatureRow = Row<typeof targetFeaturesTable>;

/** Per photometry catalog: match counts, the false-match rate from shifted positions, the frame tie. */
export const matchSummaryTable = defineTable('classify_match_summary', {
  catalog: z.string().min(1),
  metric: z.string().min(1),
  value: optionalNumber(),
});
export type MatchSummaryRow = Row<typeof matchSummaryTable>;
