import { separationArcsec } from './coords.js';
import { crossMatch, type CrossMatchOptions, type XraySource } from './crossmatch.js';

/**
 * Label provenance: which catalogues label each training source, and whether they agree.
 *
 * A catalogue row names its source by CSC 2.0 name where it gives one (Fortin et al.'s
 * `Chandra_ID`): the row labels the X-ray source of that name (nothing when that source is
 * not trained on). Otherwise (or when the name is not in the X-ray table) its position is cross-matched to the X-ray sources by
 * the method's rules (paper section 2.3; lib/sky/crossmatch.ts): the best X-ray source
 * within max(3 sigma_eff, 0.5"), nu <= 3. Matching runs against every X-ray source, so a
 * row nearer a source outside the training set does not label a training one.
 */
export interface ProvenanceLabel {
  /** the catalogue (config label_catalogs name) */
  catalog: string;
  name: string;
  ra_deg: number;
  dec_deg: number;
  /** XClass class, null when out of scope (a magnetar: NS) */
  class: string | null;
  class_raw: string;
  subclass: string | null;
  /** CSC 2.0 name(s) the catalogue gives, `|`-separated */
  csc_name: string | null;
}

export interface ProvenanceSource extends XraySource {
  id: string;
  /** the training label (MUWCLASS), null for a source that is not trained on */
  label: string | null;
}

export interface ProvenanceMatch {
  /** index into the sources */
  source: number;
  /** index into the labels */
  label: number;
  by: 'name' | 'position';
  sep_arcsec: number;
  nu: number;
}

/** Each label row's training source, by CSC name first, else by position; rows labelling no training source are left out. */
export function matchProvenance(
  labels: readonly ProvenanceLabel[],
  sources: readonly ProvenanceSource[],
  opts: CrossMatchOptions,
): ProvenanceMatch[] {
  const byId = new Map(sources.map((s, i) => [s.id, i]));
  const out: ProvenanceMatch[] = [];
  const byPosition: number[] = [];
  labels.forEach((l, i) => {
    // the name decides when it is an X-ray source of the table; a name of a source that is not trained on labels nothing
    const named = (l.csc_name ?? '')
      .split('|')
      .map((n) => byId.get(n))
      .filter((s) => s !== undefined);
    if (named.length === 0) {
      byPosition.push(i);
      return;
    }
    const trained = named.find((s) => sources[s]!.label !== null);
    if (trained === undefined) return;
    const s = sources[trained]!;
    const sep = separationArcsec(l.ra_deg, l.dec_deg, s.ra_deg, s.dec_deg);
    out.push({ source: trained, label: i, by: 'name', sep_arcsec: sep, nu: sep / s.sigma_eff_arcsec });
  });
  const matches = crossMatch(
    byPosition.map((i) => labels[i]!),
    sources,
    opts,
  );
  matches.forEach((m, j) => {
    if (m && sources[m.xray]!.label !== null)
      out.push({ source: m.xray, label: byPosition[j]!, by: 'position', sep_arcsec: m.sep_arcsec, nu: m.nu });
  });
  return out.sort((a, b) => a.source - b.source || a.label - b.label);
}

/** How a training source's other catalogues relate to its label. */
export type Agreement = 'unconfirmed' | 'agree' | 'conflict';

/**
 * A source's agreement: `conflict` when any other catalogue gives another class (an
 * out-of-scope label such as a magnetar, class null, is another class), `agree` when at
 * least one other catalogue labels it and all give its class, `unconfirmed` when none does.
 */
export function agreementOf(label: string, others: readonly { class: string | null }[]): Agreement {
  if (others.length === 0) return 'unconfirmed';
  return others.every((o) => o.class === label) ? 'agree' : 'conflict';
}

/**
 * What training does with a source under a conflict policy: `keep` trains on every
 * MUWCLASS label (conflicts are only flagged); `drop` leaves conflicting sources out;
 * `require_agreement` trains a source of a class that some other configured catalogue
 * covers only when another catalogue confirms its label (classes no other catalogue
 * covers, AGN and stars in the bundle, have nothing to agree with and are kept).
 */
export type ConflictPolicy = 'keep' | 'drop' | 'require_agreement';

export function trainedUnder(
  policy: ConflictPolicy,
  label: string,
  agreement: Agreement,
  coveredClasses: ReadonlySet<string>,
): boolean {
  if (policy === 'keep') return true;
  if (agreement === 'conflict') return false;
  if (policy === 'drop') return true;
  return agreement === 'agree' || !coveredClasses.has(label);
}
