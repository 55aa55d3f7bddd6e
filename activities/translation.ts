import { basename, join } from 'node:path';
import { Rng } from '../lib/rng.js';
import { sha256Hex } from '../artifacts/hash.js';
import { DEFAULT_GRID } from '../lib/sed/grid.js';
import type { Filter } from '../lib/sed/filters.js';
import {
  observationFromMags,
  spectrumFnuOnGrid,
  type BandMeasurement,
  type ObservationResult,
} from '../lib/sed/photometry.js';
import { bandZeroPoints } from '../lib/sed/systems.js';
import {
  preparePlan,
  type FamilyKey,
  type LabelFreeOptions,
  type TranslationPlan,
  type UncertaintyOptions,
} from '../lib/sed/translate.js';
import {
  blackbodySet,
  compositeFnu,
  flambdaToGridFnu,
  powerLawSet,
  reddenedSet,
  redshiftedSet,
  steps,
  twoComponentSet,
  type ModelSet,
} from '../lib/sed/templates.js';
import { InputError } from '../lib/errors.js';
import type { SedSettings } from '../schemas/sed.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { SourceRow } from '../schemas/tables.js';
import { canonicalJson } from '../lib/canonical.js';
import { PromiseCache } from '../lib/memo.js';
import {
  loadComposite,
  loadFilter,
  loadLePhareTemplate,
  loadPickles,
  loadVega,
  picklesFile,
  picklesTypeName,
  PICKLES_DWARFS,
  salvatoTemplateFiles,
  sedDataFiles,
  fitsRedshifted,
  filterFileName,
} from './io/sed-data.js';
import { verifyRawFile } from './io/raw-file.js';

/**
 * What translating training sources under one set of SED settings needs, prepared once:
 * the input bands with their zero points, the model families and the translation plan
 * (model fluxes through every band). The `sed` stage translates with it, and `predict`
 * translates each source's Monte-Carlo draws with the very same preparation.
 */
export interface PreparedTranslation {
  settings: SedSettings;
  bands: SedSettings['input_bands'];
  zeroPoints: number[];
  families: Partial<Record<FamilyKey, ModelSet>>;
  plan: TranslationPlan;
  sigma: UncertaintyOptions;
  labelFree: LabelFreeOptions;
}

/** a process sees a handful of translations (baseline and ablations); the last few are kept */
const prepared = new PromiseCache<PreparedTranslation>(8);

/** The preparation for these settings, built once per process and data folder (the data files are verified first, every call). */
export async function prepareTranslation(
  dataDir: string,
  p: SedSettings & { data_files: RawFileRef[] },
): Promise<PreparedTranslation> {
  const byName = new Map(p.data_files.map((f) => [f.name, f] as const));
  for (const name of await sedDataFiles(p, dataDir)) {
    const ref = byName.get(name);
    if (!ref) throw new Error(`sed: data file ${name} is read but not among the params' data_files`);
    await verifyRawFile(ref, join(dataDir, name));
  }
  return prepared.get(`${dataDir}\u0000${canonicalJson(p)}`, () => build(dataDir, p));
}

/**
 * The model families (about 100 MB of spectra with the default extinction grid, 0.4-0.6 s to
 * build) are shared by every preparation whose settings build the same ones: a run's sed and
 * predict steps differ mostly in bands, error floors, priors or assignment, which buildFamilies
 * does not read. The sets are only read once built (preparePlan integrates them).
 */
const familySets = new PromiseCache<Partial<Record<FamilyKey, ModelSet>>>(4);

/** What buildFamilies reads of the settings, and the digests of the data files it may read (the templates: not the filters, not Vega). */
function familiesKey(dataDir: string, p: SedSettings & { data_files: RawFileRef[] }): string {
  const redshifted = { composite_z: fitsRedshifted(p, 'composite_z'), salvato: fitsRedshifted(p, 'salvato') };
  const notRead = new Set([
    ...p.input_bands.map((b) => filterFileName(b.filter)),
    ...p.output_filters.map(filterFileName),
    p.templates.vega,
  ]);
  return `${dataDir}\u0000${canonicalJson({
    extinction: p.extinction,
    composite: p.templates.composite,
    lmxb_star: p.lmxb_star,
    hmxb_star: p.hmxb_star,
    agn_redshift: redshifted.composite_z || redshifted.salvato ? p.agn_redshift : null,
    redshifted,
    data_files: p.data_files.filter((f) => !notRead.has(f.name)),
  })}`;
}

/**
 * The plans (every model through every input band and output filter, 0.1-0.2 s each) are
 * shared by every preparation with the same families, bands, output filters and convention:
 * the sed steps of an ablation that changes priors, error floors or assignment reuse them.
 */
const plans = new PromiseCache<TranslationPlan>(4);

async function build(dataDir: string, p: SedSettings & { data_files: RawFileRef[] }): Promise<PreparedTranslation> {
  const grid = DEFAULT_GRID;
  const bands = p.input_bands.filter((b) => p.surveys.includes(b.survey));
  const inputFilters: Filter[] = await Promise.all(bands.map((b) => loadFilter(dataDir, b.filter)));
  const outputFilters: Filter[] = await Promise.all(p.output_filters.map((f) => loadFilter(dataDir, f)));
  // zero points: Vega through each band where the system needs it
  const vega = await loadVega(dataDir, p.templates.vega);
  const vegaFnu = spectrumFnuOnGrid(grid, vega.wavelength_aa, vega.flux_flam_cgs);
  const zeroPoints = bandZeroPoints(
    grid,
    vegaFnu,
    bands.map((b, i) => ({ filter: inputFilters[i]!, system: b.system })),
    p.convention,
  );
  const familyKey = familiesKey(dataDir, p);
  const families = await familySets.get(familyKey, () => buildFamilies(dataDir, p));
  // the filter curves read, by name and digest (the data files were verified against these)
  const curves = (filters: readonly string[]) =>
    filters.map((f) => {
      const name = filterFileName(f);
      return [name, p.data_files.find((d) => d.name === name)?.sha256 ?? null];
    });
  const planKey = canonicalJson({
    inputs: curves(bands.map((b) => b.filter)),
    outputs: curves(p.output_filters),
    convention: p.convention,
  });
  const plan = await plans.get(`${familyKey}\u0000${planKey}`, async () =>
    preparePlan(grid, inputFilters, outputFilters, families, p.convention),
  );
  return {
    settings: p,
    bands,
    zeroPoints,
    families,
    plan,
    sigma: {
      chi2_coeff: p.sigma_chi2_coeff,
      cap_mag: p.sigma_cap_mag,
      uv_sigma_mag: p.uv_sigma_mag,
      uv_pivot_aa: p.uv_pivot_aa,
    },
    labelFree: { priors: p.label_free.priors, draws: p.assignment === 'label_free' ? p.label_free.draws : 0 },
  };
}

/** A training source's magnitudes in the translation's input bands, and the observation the fit reads. */
export function sourceObservation(
  t: PreparedTranslation,
  src: SourceRow,
): { measurements: BandMeasurement[]; obs: ObservationResult; used: string[] } {
  const measurements: BandMeasurement[] = t.bands.map((b, i) => ({
    band: i,
    name: b.name,
    mag: src[b.mag_column as keyof SourceRow] as number | null,
    mag_err: src[b.err_column as keyof SourceRow] as number | null,
    zero_point_fnu_cgs: t.zeroPoints[i]!,
  }));
  const obs = observationFromMags(measurements, {
    missing_err_frac: t.settings.missing_err_frac,
    err_floor_mag: t.settings.err_floor_mag,
  });
  const used = obs.ok ? Array.from(obs.obs.band, (b) => t.bands[b]!.name) : [];
  return { measurements, obs, used };
}

/** Every model family under these settings (reddened copies when extinction is on), read from the data folder. */
export async function buildFamilies(dataDir: string, p: SedSettings): Promise<Partial<Record<FamilyKey, ModelSet>>> {
  const grid = DEFAULT_GRID;
  const starFnu = async (code: string) => {
    const s = await loadPickles(dataDir, picklesFile(code));
    return flambdaToGridFnu(grid, s.wavelength_aa, s.flux_flam);
  };
  const pickles = await Promise.all(PICKLES_DWARFS.map(starFnu));
  // the two-component stars: a dwarf already loaded (K5V) is not read again
  const star = (code: string) => {
    const i = (PICKLES_DWARFS as readonly string[]).indexOf(code);
    return i >= 0 ? Promise.resolve(pickles[i]!) : starFnu(code);
  };
  // extinction (stars, XRBs, CVs): each reddened by A_V = 0 ... a_v_max
  const a_vs = p.extinction.a_v_max > 0 ? steps(0, p.extinction.a_v_max, p.extinction.a_v_step) : [0];
  const reddened = (set: ModelSet) => (a_vs.length > 1 ? reddenedSet(grid, set, a_vs, p.extinction.r_v) : set);
  const comp = await loadComposite(dataDir, p.templates.composite);
  const { fnu, beta } = compositeFnu(grid, comp.wavelength_aa, comp.flux_flam);
  if (!Number.isFinite(beta))
    throw new InputError({ file: p.templates.composite }, 'cannot fit the red continuum slope at 7000-8500 A');
  const composite: ModelSet & { beta: number } = {
    family: 'composite',
    names: ['VandenBerk2001'],
    values: [null],
    spectra: [fnu],
    beta,
  };
  const families: Partial<Record<FamilyKey, ModelSet>> = {
    pickles: reddened({
      family: 'pickles',
      names: PICKLES_DWARFS.map(picklesTypeName),
      values: PICKLES_DWARFS.map(() => null),
      spectra: pickles,
    }),
    composite,
    powerlaw: powerLawSet(grid),
    blackbody: reddened(blackbodySet(grid)),
    two_component_lmxb: reddened(twoComponentSet(grid, picklesTypeName(p.lmxb_star), await star(p.lmxb_star))),
    two_component_hmxb: reddened(twoComponentSet(grid, picklesTypeName(p.hmxb_star), await star(p.hmxb_star))),
  };
  // the redshifted AGN families, built only when fitted (hundreds of spectra)
  const r = p.agn_redshift;
  if (r && (fitsRedshifted(p, 'composite_z') || fitsRedshifted(p, 'salvato'))) {
    const zs = steps(r.z_min, r.z_max, r.z_step);
    const prior = redshiftPrior(r.prior);
    // the composite as tabulated (800.5-8554.5 A rest): its red power-law extension is not redshifted in
    if (fitsRedshifted(p, 'composite_z'))
      families.composite_z = redshiftedSet(grid, 'composite_z', [{ name: 'VandenBerk2001', ...comp }], zs, prior);
    if (fitsRedshifted(p, 'salvato')) {
      const files = await salvatoTemplateFiles(dataDir, r.salvato_list);
      const templates = await Promise.all(
        files.map(async (f) => ({
          name: basename(f).replace(/(_template_norm)?\.(sed|spec)(\.save)?$/, ''),
          ...(await loadLePhareTemplate(dataDir, f)),
        })),
      );
      families.salvato = redshiftedSet(grid, 'salvato', templates, zs, prior);
    }
  }
  return families;
}

/** The redshift prior's density (unnormalised): flat, or Gamma(shape k >= 1, scale theta) ~ z^(k-1) exp(-z/theta). */
export function redshiftPrior(prior: NonNullable<SedSettings['agn_redshift']>['prior']): (z: number) => number {
  if (prior.kind === 'flat') return () => 1;
  const { shape, scale } = prior;
  return (z) => (z <= 0 ? (shape === 1 ? 1 : 0) : z ** (shape - 1) * Math.exp(-z / scale));
}

/** The seed of a source's own generator: from the run's seed and the source's id alone. */
export function sourceSeed(seed: number, id: string): number {
  return (seed ^ Number.parseInt(sha256Hex(id).slice(0, 8), 16)) >>> 0;
}

/** A source's own generator for posterior draws: the same draws whatever else is in the table. */
export function sourceRng(seed: number, id: string): Rng {
  return new Rng(sourceSeed(seed, id));
}
