// A synthetic field for the classify benchmarks: N X-ray sources (CSC 2.0 layout, CSV)
// whose fluxes, errors and Gaia magnitudes are resampled from the MUWCLASS table, and a
// Gaia DR3 catalog (CSV) of M sources at 0.01 per arcsec^2 holding each X-ray source's
// counterpart where its resampled row has Gaia photometry, offset by its positional error.
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../config/paths.js';
import { Rng } from '../../lib/rng.js';
import { offsetPosition, R95_PER_SIGMA } from '../../lib/sky/counterparts.js';

const root = packageRoot();

/** MUWCLASS rows to resample: fluxes with errors, the 95% radius, significance, Gaia magnitudes. */
const muw = readFileSync(
  join(process.env['XCLASS_DATA'] ?? resolve(root, '..', 'shared', 'data'), 'catalogs', 'muwclass_TD_2022.csv'),
  'utf8',
)
  .trim()
  .split('\n');
const head = muw[0]!.split(',');
const col = (name: string) => head.indexOf(name);
const pool = muw
  .slice(1)
  .filter((l) => !l.includes('"'))
  .map((l) => l.split(','))
  .map((c) => ({
    f: ['Fs', 'Fm', 'Fh', 'Fb'].map((n) => c[col(n)] ?? ''),
    e: ['e_Fs', 'e_Fm', 'e_Fh', 'e_Fb'].map((n) => c[col(n)] ?? ''),
    pu: Number(c[col('CSCv2_PU')]) || 1,
    sn: c[col('CSCv2_S/N')] ?? '',
    g: ['Gmag', 'BPmag', 'RPmag'].map((n) => c[col(n)] ?? ''),
  }));
const withGaia = pool.filter((p) => p.g.every((v) => v !== ''));

async function writeLines(path: string, header: string, rows: (emit: (line: string) => void) => void): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  let buf: string[] = [];
  rows((line) => {
    buf.push(line);
    if (buf.length >= 10000) {
      out.write(`${buf.join('\n')}\n`);
      buf = [];
    }
  });
  if (buf.length) out.write(`${buf.join('\n')}\n`);
  await new Promise<void>((ok, fail) => out.end((err?: Error | null) => (err ? fail(err) : ok())));
}

/** A field of n X-ray sources and m catalog sources at 0.01 per arcsec^2 around RA 180, Dec 0. */
export async function syntheticField(tmp: string, n: number, m: number): Promise<{ xray: string; catalog: string }> {
  const rng = new Rng(n * 7 + m);
  const side = Math.sqrt(m / 0.01) / 3600; // degrees
  const pos = () => ({ ra_deg: 180 - side / 2 + side * rng.nextFloat(), dec_deg: -side / 2 + side * rng.nextFloat() });
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const xray = join(tmp, `xray_${n}_${m}.csv`);
  const catalog = join(tmp, `gaia_${n}_${m}.csv`);
  const counterparts: string[] = [];
  const fluxCols = ['s', 'm', 'h', 'b'].flatMap((b) => [
    `flux_aper90_${b}`,
    `flux_aper90_lolim_${b}`,
    `flux_aper90_hilim_${b}`,
  ]);
  await writeLines(
    xray,
    [
      'name',
      'ra',
      'dec',
      'err_ellipse_r0',
      'err_ellipse_r1',
      'significance',
      ...fluxCols,
      'var_intra_prob_b',
      'var_inter_prob_b',
    ].join(','),
    (emit) => {
      for (let i = 0; i < n; i++) {
        const r = pool[rng.nextInt(pool.length)]!;
        const p = pos();
        const fluxes = r.f.flatMap((f, k) => {
          const e = Number(r.e[k]);
          return f === '' ? ['', '', ''] : [f, String(Math.max(0, Number(f) - (e || 0))), String(Number(f) + (e || 0))];
        });
        emit([`X${i}`, p.ra_deg.toFixed(7), p.dec_deg.toFixed(7), r.pu, r.pu, r.sn, ...fluxes, '', ''].join(','));
        if (r.g.every((v) => v !== '') && counterparts.length < m) {
          const s = r.pu / R95_PER_SIGMA;
          const c = offsetPosition(p.ra_deg, p.dec_deg, s * gauss(), s * gauss());
          counterparts.push(
            [`C${i}`, c.ra_deg.toFixed(8), c.dec_deg.toFixed(8), ...r.g, 0.02, 0.02, 100, 100, 100].join(','),
          );
        }
      }
    },
  );
  const cols = [
    'source_id',
    'ra',
    'dec',
    'phot_g_mean_mag',
    'phot_bp_mean_mag',
    'phot_rp_mean_mag',
    'ra_error',
    'dec_error',
  ];
  await writeLines(
    catalog,
    [...cols, 'phot_g_mean_flux_over_error', 'phot_bp_mean_flux_over_error', 'phot_rp_mean_flux_over_error'].join(','),
    (emit) => {
      for (const line of counterparts) emit(line);
      for (let k = counterparts.length; k < m; k++) {
        const r = withGaia[rng.nextInt(withGaia.length)]!;
        const p = pos();
        emit([`F${k}`, p.ra_deg.toFixed(8), p.dec_deg.toFixed(8), ...r.g, 0.02, 0.02, 100, 100, 100].join(','));
      }
    },
  );
  return { xray, catalog };
}

/** Runs the default pipeline (baseline only) into a fresh store; returns each step's artifact id by step key. */
export function runBenchPipeline(storePath: string): Map<string, string> {
  const trained = spawnSync(
    process.execPath,
    [
      resolve(root, 'bin', 'xclass.js'),
      '--set',
      `store.path=${JSON.stringify(storePath)}`,
      '--json',
      'run',
      '--no-ablations',
    ],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (trained.status !== 0) throw new Error(`training failed: ${trained.stderr}`);
  const steps = (
    JSON.parse(trained.stdout.trim().split('\n').at(-1)!) as { steps: { key: string; artifactId: string }[] }
  ).steps;
  return new Map(steps.map((s) => [s.key, s.artifactId]));
}

/** Trains the default model (baseline only) into a fresh store; returns its final model's id. */
export function trainBenchModel(storePath: string): string {
  return runBenchPipeline(storePath).get('final/train')!;
}
