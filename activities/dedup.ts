import { dedupe } from '../lib/sky/dedup.js';
import { countBy, groupBy } from '../lib/group.js';
import { DedupParams, labelRowsTable, type LabelRow } from '../schemas/labels.js';
import { NoContext } from '../schemas/params.js';
import { DedupFacts } from '../schemas/facts.js';
import { defineStage, rolePattern } from './stage.js';

/** The distinct values of merged rows (each possibly `|`-joined already), sorted and `|`-joined; null when none. */
function joinedDistinct(values: readonly (string | null)[]): string | null {
  const all = [...new Set(values.flatMap((v) => (v === null ? [] : v.split('|'))))].sort();
  return all.length > 0 ? all.join('|') : null;
}

/**
 * `dedup`: the label rows of every catalog, deduplicated within each class by
 * union-find (paper section 2.2); SNRs with the tighter radius and X-ray positions
 * preferred. Rows out of scope (class NULL) are deduplicated by their catalogue label.
 */
export const dedupStage = defineStage({
  name: 'dedup',
  version: 2,
  params: DedupParams,
  inputs: { roles: {}, pattern: { ...rolePattern<`catalog_${number}`>(/^catalog_\d+$/), from: 'labels' } },
  context: NoContext,
  tables: { data: labelRowsTable },
  facts: DedupFacts,
  async run(ctx, p) {
    const all: LabelRow[] = [];
    for (const [, ref] of Object.entries(ctx.inputs).sort(([a], [b]) => (a < b ? -1 : 1)))
      for (const row of await ctx.store.readTable(labelRowsTable, ref)) all.push(row);
    const byClass = groupBy(all, (r) => r.class ?? `raw:${r.class_raw}`);
    const out: LabelRow[] = [];
    for (const [key, rows] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const snr = key === 'SNR';
      const groups = dedupe(
        rows.map((r) => ({
          ra_deg: r.ra_deg,
          dec_deg: r.dec_deg,
          names: [r.name, ...r.alt_names.split('|')].filter((s) => s !== ''),
          is_xray: r.is_xray,
        })),
        {
          radius_arcsec: snr ? p.snr_radius_arcsec : p.radius_arcsec,
          always_merge_arcsec: p.always_merge_arcsec,
          prefer_xray: snr,
        },
      );
      for (const g of groups) {
        const members = g.members.map((i) => rows[i]!);
        const names = [
          ...new Set(
            members.flatMap((m) => [m.name, ...m.alt_names.split('|')]).filter((s) => s !== '' && s !== g.name),
          ),
        ].sort();
        out.push({
          name: g.name,
          alt_names: names.join('|'),
          ra_deg: g.ra_deg,
          dec_deg: g.dec_deg,
          class: members[0]!.class,
          class_raw: members[0]!.class_raw,
          catalog: [...new Set(members.map((m) => m.catalog))].sort().join('|'),
          reference: [...new Set(members.map((m) => m.reference))].sort().join('|'),
          line: Math.min(...members.map((m) => m.line)),
          is_xray: members.some((m) => m.is_xray),
          period_s: members.find((m) => m.period_s !== null)?.period_s ?? null,
          subclass: joinedDistinct(members.map((m) => m.subclass)),
          csc_name: joinedDistinct(members.map((m) => m.csc_name)),
          gaia_id: joinedDistinct(members.map((m) => m.gaia_id)),
          twomass_id: joinedDistinct(members.map((m) => m.twomass_id)),
          members: members.reduce((s, m) => s + m.members, 0),
        });
      }
    }
    out.sort(
      (a, b) => (a.class ?? '').localeCompare(b.class ?? '') || a.name.localeCompare(b.name) || a.ra_deg - b.ra_deg,
    );
    return {
      table: labelRowsTable,
      rows: out,
      facts: {
        before: countBy(all, (r) => r.class ?? `raw:${r.class_raw}`),
        after: countBy(out, (r) => r.class ?? `raw:${r.class_raw}`),
      } satisfies DedupFacts,
    };
  },
});
