import { computeFeatures, imputeMatrix, sourceFeatureInput, type FeatureSpec } from '../lib/features.js';
import {
  predictTwoStage,
  predictTwoStageWith,
  type TwoStageModel,
  type TwoStagePrediction,
} from '../lib/forest/two-stage.js';
import type { TreeGrower } from '../lib/forest/grow-batch.js';
import { translateLabelFreeMags } from '../lib/sed/translate.js';
import {
  drawFlux,
  drawMagnitude,
  drawTranslation,
  summariseDrawPredictions,
  type DrawOutcome,
  type TranslatedMags,
} from '../lib/uncertainty/montecarlo.js';
import type { Rng } from '../lib/rng.js';
import type { McParams } from '../schemas/model.js';
import type { SourceRow } from '../schemas/tables.js';
import type { PredictionExtras } from './io/model.js';
import { sourceObservation, sourceRng, type PreparedTranslation } from './translation.js';

/** The X-ray flux columns of `sources` with their 1-sigma errors, in the order each draw takes them. */
const SOURCE_FLUXES = [
  ['flux_s_cgs', 'flux_s_err_cgs'],
  ['flux_m_cgs', 'flux_m_err_cgs'],
  ['flux_h_cgs', 'flux_h_err_cgs'],
  ['flux_b_cgs', 'flux_b_err_cgs'],
] as const;

/** The magnitude columns of `sources` that features or translation read, with their errors, in draw order. */
const SOURCE_MAGNITUDES = [
  ['gaia_g_mag', 'gaia_g_err_mag'],
  ['gaia_bp_mag', 'gaia_bp_err_mag'],
  ['gaia_rp_mag', 'gaia_rp_err_mag'],
  ['tmass_j_mag', 'tmass_j_err_mag'],
  ['tmass_h_mag', 'tmass_h_err_mag'],
  ['tmass_ks_mag', 'tmass_ks_err_mag'],
  ['ps1_g_mag', 'ps1_g_err_mag'],
  ['ps1_r_mag', 'ps1_r_err_mag'],
  ['ps1_i_mag', 'ps1_i_err_mag'],
  ['ps1_z_mag', 'ps1_z_err_mag'],
  ['ps1_y_mag', 'ps1_y_err_mag'],
] as const;

/**
 * One Monte-Carlo draw of a training source: its four X-ray fluxes log-normal about the
 * measured values, its magnitudes normal with the SED stage's error model (floor
 * included); every other column as measured.
 */
function perturbedSource(src: SourceRow, rng: Rng, t: PreparedTranslation): SourceRow {
  const out: SourceRow = { ...src };
  for (const [v, e] of SOURCE_FLUXES) out[v] = drawFlux(src[v], src[e], rng);
  for (const [m, e] of SOURCE_MAGNITUDES)
    out[m] = drawMagnitude(src[m], src[e], rng, t.settings.err_floor_mag, t.settings.missing_err_frac);
  return out;
}

/**
 * The feature rows of `draws` Monte-Carlo draws of a training source, each translated
 * label-free by the SED stage's code and preparation (`exact`: a fit per draw;
 * `linear`: the fit's Jacobian at the measured values), then through the features
 * stage's inputs. Draws come from the source's own generator (seed and id), so they are
 * the same in any batch, fold or thread.
 */
export function sourceDrawFeatures(
  t: PreparedTranslation,
  src: SourceRow,
  spec: FeatureSpec,
  mc: McParams,
): (number | null)[][] {
  if (t.settings.assignment !== 'label_free')
    throw new Error(
      `predict: Monte-Carlo draws are translated label-free, but these features came from a '${t.settings.assignment}' translation`,
    );
  const rng = sourceRng(mc.seed, src.id);
  const outputs = t.plan.outputs;
  const columns = t.bands.map((b) => b.mag_column as keyof SourceRow);
  // translateLabelFree's magnitudes and A_V (what the features read), as the sed stage translates
  const translate = (row: SourceRow): TranslatedMags | null => {
    const { obs, used } = sourceObservation(t, row);
    if (!obs.ok || used.length < 3) return null;
    return translateLabelFreeMags(t.plan, obs.obs, t.labelFree.priors);
  };
  const measured = columns.map((c) => src[c] as number | null);
  const translated = drawTranslation(mc.translation, measured, (mags) =>
    translate({ ...src, ...Object.fromEntries(columns.map((c, k) => [c, mags[k]])) }),
  );
  const rows: (number | null)[][] = [];
  for (let d = 0; d < mc.draws; d++) {
    const drawn = perturbedSource(src, rng, t);
    const tr = translated(columns.map((c) => drawn[c] as number | null));
    const hst: Record<string, number | null> = {};
    outputs.forEach((o, k) => (hst[o.name] = tr ? (tr.mag_ab[k] ?? null) : null));
    rows.push(computeFeatures(sourceFeatureInput(drawn, hst, tr ? tr.a_v : null), spec));
  }
  return rows;
}

/**
 * The feature rows of `draws` Monte-Carlo draws of a source for an X-ray-only model: its
 * four fluxes log-normal about the measured values (perturbedSource's flux model), from
 * the source's own generator; nothing to translate.
 */
export function xrayDrawFeatures(src: SourceRow, spec: FeatureSpec, mc: McParams): (number | null)[][] {
  if (!spec.xray_only) throw new Error('predict: xrayDrawFeatures is for X-ray-only features');
  const rng = sourceRng(mc.seed, src.id);
  const rows: (number | null)[][] = [];
  for (let d = 0; d < mc.draws; d++) {
    const drawn: SourceRow = { ...src };
    for (const [v, e] of SOURCE_FLUXES) drawn[v] = drawFlux(src[v], src[e], rng);
    rows.push(computeFeatures(sourceFeatureInput(drawn, {}, null), spec));
  }
  return rows;
}

/**
 * The model applied to every draw of every source (one matrix, imputed with the model's
 * medians), summarised per source (summariseDrawPredictions), with the single-value
 * prediction beside them.
 */
export async function predictDraws(
  model: TwoStageModel,
  medians: readonly (number | null)[],
  single: readonly TwoStagePrediction[],
  drawRows: readonly (readonly (number | null)[][])[],
  trees?: TreeGrower,
): Promise<{ preds: TwoStagePrediction[]; extras: Omit<PredictionExtras, 'ood_score' | 'class_set' | 'ood'>[] }> {
  const m = imputeMatrix(drawRows.flat(), medians);
  // 100 draws per source: the engine's tree threads share the rows when it hands them over
  const all = trees?.predict
    ? await predictTwoStageWith(model, m, (f, x) => trees.predict!(f, x))
    : predictTwoStage(model, m);
  return withSingle(
    summariseDrawPredictions(
      model,
      all,
      drawRows.map((rows) => rows.length),
    ),
    single,
  );
}

/** Draw outcomes as predictions and their extras, each with its source's single-value vector. */
export function withSingle(
  outcomes: readonly DrawOutcome[],
  single: readonly TwoStagePrediction[],
): { preds: TwoStagePrediction[]; extras: Omit<PredictionExtras, 'ood_score' | 'class_set' | 'ood'>[] } {
  return {
    preds: outcomes.map((o) => o.pred),
    extras: outcomes.map((o, i) => ({
      mc_draws: o.mc_draws,
      single: single[i]!.proba,
      final_lo: o.final_lo,
      final_hi: o.final_hi,
      stage1_lo: o.stage1_lo,
      stage1_hi: o.stage1_hi,
      significance: o.significance,
    })),
  };
}
