import type { ArtifactStore } from '../artifacts/store.js';
import type { RunRecord } from '../schemas/run.js';
import { SHARED_STEPS, variantSteps } from '../workflows/keys.js';
import { sedFitsTable } from '../schemas/sed.js';
import type { z } from 'zod';
import { CrossmatchFacts, DedupFacts, FeaturesFacts, ProvenanceFacts } from '../schemas/facts.js';
import { labelAgreementTable, labelStatusTable } from '../schemas/labels.js';

export interface SummaryRow {
  class: string;
  catalogs: number;
  deduplicated: number;
  csc_match: number;
  sed_ok: number;
  classifier: number;
}

/**
 * The method's Table 1 for a run: per class, label rows from the catalogs, after
 * deduplication, matched to a Chandra source, SED-translated from >= 3 bands, and
 * entering the classifier. The last two count the MUWCLASS training table, which is the
 * bundled data's only X-ray table with fluxes and photometry.
 */
export async function summariseRun(store: ArtifactStore, run: RunRecord): Promise<SummaryRow[]> {
  const idOf = (key: string) => run.steps.find((s) => s.key === key)?.artifactId ?? null;
  const facts = async <S extends z.ZodRawShape>(
    schema: z.ZodObject<S>,
    stage: string,
    key: string,
  ): Promise<z.infer<z.ZodObject<S>> | null> => {
    const id = idOf(key);
    return id ? store.readFacts(schema, { stage, id }) : null;
  };
  const baseline = variantSteps(null);
  const dedup = await facts(DedupFacts, 'dedup', SHARED_STEPS.dedup);
  const cross = (await facts(CrossmatchFacts, 'crossmatch', SHARED_STEPS.crossmatch))?.by_class;
  const features = (await facts(FeaturesFacts, 'features', baseline.features()))?.rows_by_class;
  const sedId = idOf(baseline.sed());
  const sedOk: Record<string, number> = {};
  if (sedId)
    for (const r of await store.readTable(sedFitsTable, { stage: 'sed', id: sedId }))
      if (r.status === 'ok' && r.label) sedOk[r.label] = (sedOk[r.label] ?? 0) + 1;
  const before = dedup?.before ?? {};
  const after = dedup?.after ?? {};
  const classes = [...new Set([...Object.keys(before), ...Object.keys(sedOk), ...Object.keys(features ?? {})])]
    .filter((c) => !c.startsWith('raw:'))
    .sort();
  const rows = classes.map((c) => ({
    class: c,
    catalogs: before[c] ?? 0,
    deduplicated: after[c] ?? 0,
    csc_match: cross?.[c]?.matched ?? 0,
    sed_ok: sedOk[c] ?? 0,
    classifier: features?.[c] ?? 0,
  }));
  const total = rows.reduce(
    (t, r) => ({
      class: 'Total',
      catalogs: t.catalogs + r.catalogs,
      deduplicated: t.deduplicated + r.deduplicated,
      csc_match: t.csc_match + r.csc_match,
      sed_ok: t.sed_ok + r.sed_ok,
      classifier: t.classifier + r.classifier,
    }),
    { class: 'Total', catalogs: 0, deduplicated: 0, csc_match: 0, sed_ok: 0, classifier: 0 },
  );
  return [...rows, total];
}

/** The label-agreement table of a run: rows the training label, columns each other catalogue's label (`catalog:label`), cells sources. */
export interface AgreementTable {
  /** `catalog:label` columns, then `none` (no other catalogue labels the source) */
  columns: string[];
  rows: { label: string; cells: number[]; sources: number; agree: number; conflict: number; unconfirmed: number }[];
  /** each disagreeing source with the catalogues' labels */
  conflicts: { id: string; label: string; labels: string }[];
  artifactId: string;
}

/** The provenance step's agreement table (null for runs made before the step existed). */
export async function labelAgreement(store: ArtifactStore, run: RunRecord): Promise<AgreementTable | null> {
  const id = run.steps.find((s) => s.key === SHARED_STEPS.provenance)?.artifactId;
  if (!id) return null;
  const ref = { stage: 'provenance', id };
  const facts = await store.readFacts(ProvenanceFacts, ref);
  const cells = await store.readTable(labelAgreementTable, ref, 'agreement');
  const status = await store.readTable(labelStatusTable, ref, 'status');
  const columns = [
    ...new Set(cells.filter((c) => c.catalog !== 'none').map((c) => `${c.catalog}:${c.catalog_label}`)),
  ].sort();
  columns.push('none');
  const key = (c: { catalog: string; catalog_label: string }) =>
    c.catalog === 'none' ? 'none' : `${c.catalog}:${c.catalog_label}`;
  const rows = Object.keys(facts.by_label)
    .sort()
    .map((label) => {
      const b = facts.by_label[label]!;
      const mine = cells.filter((c) => c.label === label);
      return { label, cells: columns.map((col) => mine.find((c) => key(c) === col)?.sources ?? 0), ...b };
    });
  const conflicts = status
    .filter((s) => s.agreement === 'conflict')
    .map((s) => ({ id: s.id, label: s.label, labels: s.labels }));
  return { columns, rows, conflicts, artifactId: id };
}
