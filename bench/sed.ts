// SED translation speed (issue: precompute under 2 s, the whole catalog under 0.5 s).
// Reference measured in the same run: the same fits done naively, convolving every
// model spectrum through every band for each source instead of precomputing.
import { performance } from 'node:perf_hooks';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../config/paths.js';
import { loadConfig } from '../config/load.js';
import { loadFilter, loadVega } from '../activities/io/sed-data.js';
import { buildFamilies } from '../activities/translation.js';
import { ingestStage } from '../activities/ingest.js';
import { sha256File } from '../artifacts/hash.js';
import { DEFAULT_GRID, interpolate } from '../lib/sed/grid.js';
import { bandFlux, bandWeights } from '../lib/sed/filters.js';
import {
  PAPER_ASSIGNMENT,
  preparePlan,
  translateLabelFree,
  translateSource,
  type TranslationPlan,
} from '../lib/sed/translate.js';
import { Rng } from '../lib/rng.js';
import { observationFromMags } from '../lib/sed/photometry.js';
import type { Observation } from '../lib/sed/fit.js';
import { zeroPointFnu } from '../lib/sed/systems.js';
import { fnuFromFlambda } from '../lib/sed/units.js';
import type { SourceRow } from '../schemas/tables.js';
import { figure } from './support/figures.js';

const data = defaultDataDir();
const config = loadConfig();
const s = config.sed;
const grid = DEFAULT_GRID;
const ms = (t: number) => `${(performance.now() - t).toFixed(1)} ms`;

const bands = s.input_bands.filter((b) => s.surveys.includes(b.survey));
const inputs = await Promise.all(bands.map((b) => loadFilter(data, b.filter)));
const phat = await Promise.all(s.output_filters.map((f) => loadFilter(data, f)));
const allHst = await Promise.all(
  readdirSync(join(data, 'filters'))
    .filter((f) => f.startsWith('HST_'))
    .map((f) => loadFilter(data, f.slice(0, -4))),
);
// the method's families (no extinction), built as the sed stage builds them
const families = await buildFamilies(data, { ...s, extinction: { ...s.extinction, a_v_max: 0 } });
const nModels = Object.values(families).reduce((n, f) => n + f.spectra.length, 0);

let t = performance.now();
const plan = preparePlan(grid, inputs, phat, families, 'photon');
const precomputePhat = ms(t);
t = performance.now();
preparePlan(grid, inputs, allHst, families, 'photon');
const precomputeAll = ms(t);

const catalog = join(data, config.catalogs.muwclass);
const ingest = await ingestStage.run(
  {
    store: undefined as never,
    inputs: {},
    context: { path: catalog },
    progress() {},
    scratch: () => Promise.reject(new Error('ingest needs no scratch folder')),
  },
  {
    catalog: { name: config.catalogs.muwclass, sha256: await sha256File(catalog), bytes: 0 },
    label_map: config.labels.map,
  },
);
if (!('rows' in ingest)) throw new Error('ingest wrote its table from a query');
const sources = ingest.rows as SourceRow[];
const vega = await loadVega(data, s.templates.vega);
const vegaFnu = interpolate(vega.wavelength_aa, vega.flux_flam_cgs, grid.wavelength_aa).map((f, i) =>
  fnuFromFlambda(grid.wavelength_aa[i]!, f),
);
const zps = bands.map((b, i) => zeroPointFnu(b.system, bandFlux(bandWeights(inputs[i]!, grid), vegaFnu)));
const sigma = {
  chi2_coeff: s.sigma_chi2_coeff,
  cap_mag: s.sigma_cap_mag,
  uv_sigma_mag: s.uv_sigma_mag,
  uv_pivot_aa: s.uv_pivot_aa,
};

/** Each labelled source with at least 3 valid bands: its observation and label. */
function observationsOf(subset: SourceRow[]): { obs: Observation; label: string }[] {
  const out: { obs: Observation; label: string }[] = [];
  for (const src of subset) {
    if (src.label === null) continue;
    const obs = observationFromMags(
      bands.map((b, i) => ({
        band: i,
        name: b.name,
        mag: src[b.mag_column as keyof SourceRow] as number | null,
        mag_err: src[b.err_column as keyof SourceRow] as number | null,
        zero_point_fnu_cgs: zps[i]!,
      })),
      { missing_err_frac: s.missing_err_frac, err_floor_mag: s.err_floor_mag },
    );
    if (obs.ok && obs.obs.flux_fnu.length >= 3) out.push({ obs: obs.obs, label: src.label });
  }
  return out;
}

function translateAll(p: TranslationPlan, subset: SourceRow[], labelFree = false, draws = 0): number {
  let ok = 0;
  for (const { obs, label } of observationsOf(subset)) {
    const t = labelFree
      ? translateLabelFree(p, obs, { priors: s.label_free.priors, draws }, sigma, draws > 0 ? new Rng(ok) : null)
      : translateSource(p, obs, PAPER_ASSIGNMENT[label] ?? null, sigma);
    if (t.status === 'ok') ok++;
  }
  return ok;
}

t = performance.now();
const translated = translateAll(plan, sources);
const fitMs = performance.now() - t;

// naive reference: per source, rebuild the band fluxes of every model (no precompute), on 20 sources
const sample = sources.filter((r) => r.label !== null && r.gaia_g_mag !== null).slice(0, 20);
t = performance.now();
for (const src of sample) translateAll(preparePlan(grid, inputs, phat, families, 'photon'), [src]);
const naivePerSource = (performance.now() - t) / sample.length;
const fastPerSource = fitMs / sources.length;

// label-free: every family, reddened by the configured A_V grid, averaged over the posterior
t = performance.now();
const freeFamilies = await buildFamilies(data, s);
const freePlan = preparePlan(grid, inputs, phat, freeFamilies, 'photon');
const freePrecompute = ms(t);
const nFree = Object.values(freeFamilies).reduce((n, f) => n + f.spectra.length, 0);
t = performance.now();
const freeTranslated = translateAll(freePlan, sources, true);
const freeMs = performance.now() - t;
t = performance.now();
translateAll(freePlan, sources, true, 5);
const drawsMs = performance.now() - t;

console.log(`models: ${nModels} in ${Object.keys(families).length} families; grid ${grid.wavelength_aa.length} points`);
console.log(`precompute, ${inputs.length} input bands + PHAT (${phat.length}): ${precomputePhat}   (target < 2000 ms)`);
console.log(`precompute, ${inputs.length} input bands + all ${allHst.length} HST filters: ${precomputeAll}`);
console.log(
  `translated ${translated} of ${sources.length} catalog sources in ${fitMs.toFixed(1)} ms = ` +
    `${Math.round(sources.length / (fitMs / 1000))} sources/s   (target < 500 ms)`,
);
console.log(`naive reference (convolve every model per source): ${naivePerSource.toFixed(2)} ms/source`);
console.log(`speed-up of precomputation over the naive reference: ${(naivePerSource / fastPerSource).toFixed(0)}x`);
figure({
  bench: 'sed',
  figure: `method's translation of ${sources.length} sources`,
  value: fitMs,
  unit: 'ms',
  target: '< 500',
});
figure({ bench: 'sed', figure: 'label-free translation per source', value: freeMs / freeTranslated, unit: 'ms' });

// The label-free kernel against its floor: per source, the multiply-adds its least-squares
// scaling needs (every model with its A_V steps, through every observed band: sum f M /
// sigma^2 and sum M^2 / sigma^2, two multiply-adds each), timed alone in the same run over
// the same band-major fluxes. The rest of a translation (an exp per model for its
// posterior weight, a log10 per kept model for its magnitudes, the averages) is above it.
const freeObs = observationsOf(sources).map((o) => o.obs);
const preparedFree = Object.values(freePlan.families);
const scratchA = new Float64Array(nFree);
const scratchB = new Float64Array(nFree);
let multiplyAdds = 0;
const floorPass = () => {
  let sink = 0;
  for (const obs of freeObs) {
    scratchA.fill(0);
    scratchB.fill(0);
    let c0 = 0;
    for (const fam of preparedFree) {
      const nModels = fam.table.nModels;
      for (let k = 0; k < obs.flux_fnu.length; k++) {
        const fk = obs.flux_fnu[k]!;
        const e = obs.flux_err_fnu[k]!;
        const iv = 1 / (e * e);
        const col = obs.band[k]! * nModels;
        for (let m = 0; m < nModels; m++) {
          const mk = fam.inByBand[col + m]!;
          scratchA[c0 + m]! += fk * mk * iv;
          scratchB[c0 + m]! += mk * mk * iv;
        }
      }
      c0 += nModels;
    }
    sink += scratchA[0]! + scratchB[nFree - 1]!;
  }
  return sink;
};
for (const obs of freeObs) multiplyAdds += 2 * nFree * obs.flux_fnu.length;
floorPass(); // warm
const reps = 5;
t = performance.now();
for (let r = 0; r < reps; r++) floorPass();
const floorMs = (performance.now() - t) / reps;
t = performance.now();
for (let r = 0; r < reps; r++)
  for (const obs of freeObs) translateLabelFree(freePlan, obs, { priors: s.label_free.priors, draws: 0 }, sigma, null);
const kernelMs = (performance.now() - t) / reps;
console.log(
  `label-free kernel: ${(multiplyAdds / freeObs.length).toFixed(0)} multiply-adds a source (${nFree} models x ` +
    `${(multiplyAdds / freeObs.length / nFree / 2).toFixed(1)} bands x 2); the floor (those alone, ` +
    `${((multiplyAdds / floorMs) * 1e-6).toFixed(2)} G multiply-adds/s) ${((floorMs / freeObs.length) * 1000).toFixed(1)} us ` +
    `a source, the translation ${((kernelMs / freeObs.length) * 1000).toFixed(1)} us: ${((100 * floorMs) / kernelMs).toFixed(0)}% of the floor's speed`,
);
figure({
  bench: 'sed',
  figure: 'label-free kernel, share of its multiply-add floor',
  value: Number(((100 * floorMs) / kernelMs).toFixed(1)),
  unit: '%',
});
console.log(
  `label-free with A_V 0-${s.extinction.a_v_max} by ${s.extinction.a_v_step}: ${nFree} models, families and ` +
    `precompute ${freePrecompute}; translated ${freeTranslated} in ${freeMs.toFixed(1)} ms = ` +
    `${(freeMs / freeTranslated).toFixed(3)} ms/source, ${(freeMs / fitMs).toFixed(1)}x the method's translation; ` +
    `with 5 posterior draws ${drawsMs.toFixed(1)} ms`,
);
