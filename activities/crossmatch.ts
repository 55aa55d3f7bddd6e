import { crossMatch } from '../lib/sky/crossmatch.js';
import { CrossmatchParams, labelRowsTable, labelMatchesTable, type LabelMatchRow } from '../schemas/labels.js';
import { NoContext } from '../schemas/params.js';
import { CrossmatchFacts } from '../schemas/facts.js';
import { defineStage } from './stage.js';
import { sourcesTable } from '../schemas/tables.js';

/**
 * `crossmatch`: label positions against the X-ray sources (paper section 2.3). The
 * bundled X-ray table is the MUWCLASS one (CSC 2.0 positions with their 95% position
 * error as sigma_eff and S/N as significance). Per label: the best X-ray source, its
 * separation, nu and grade; notes count matches and class agreement.
 */
export const crossmatchStage = defineStage({
  name: 'crossmatch',
  version: 1,
  params: CrossmatchParams,
  inputs: { roles: { labels: { from: ['labels', 'dedup'] }, xray: { from: ['ingest'] } } },
  context: NoContext,
  tables: { data: labelMatchesTable },
  facts: CrossmatchFacts,
  async run(ctx, p) {
    const labels = await ctx.store.readTable(labelRowsTable, ctx.inputs.labels);
    const xray = await ctx.store.readTable(sourcesTable, ctx.inputs.xray);
    const usable = xray.filter((s) => s.pos_err_95_arcsec !== null && s.significance !== null);
    const matches = crossMatch(
      labels,
      usable.map((s) => ({
        ra_deg: s.ra_deg,
        dec_deg: s.dec_deg,
        sigma_eff_arcsec: s.pos_err_95_arcsec!,
        significance: s.significance!,
      })),
      { min_significance: p.min_significance, min_radius_arcsec: p.min_radius_arcsec, radius_sigmas: p.radius_sigmas },
    );
    const rows: LabelMatchRow[] = labels.map((l, i) => {
      const m = matches[i];
      const x = m ? usable[m.xray]! : null;
      return {
        name: l.name,
        class: l.class,
        catalog: l.catalog,
        ra_deg: l.ra_deg,
        dec_deg: l.dec_deg,
        xray_id: x?.id ?? null,
        xray_label: x?.label_raw ?? null,
        sep_arcsec: m?.sep_arcsec ?? null,
        sigma_eff_arcsec: x?.pos_err_95_arcsec ?? null,
        nu: m?.nu ?? null,
        quality: m?.quality ?? 'none',
        alternatives: m?.alternatives ?? 0,
      };
    });
    const byClass: Record<
      string,
      { labels: number; matched: number; secure: number; ambiguous: number; agree: number }
    > = {};
    rows.forEach((r, i) => {
      const k = r.class ?? 'out_of_scope';
      const c = (byClass[k] ??= { labels: 0, matched: 0, secure: 0, ambiguous: 0, agree: 0 });
      c.labels++;
      if (r.quality !== 'none') c.matched++;
      if (r.quality === 'secure') c.secure++;
      if (r.quality === 'ambiguous') c.ambiguous++;
      // agreement: the X-ray source's own MUWCLASS label is the label catalogue's class
      if (r.quality !== 'none' && r.xray_label === labels[i]!.class_raw) c.agree++;
    });
    return {
      table: labelMatchesTable,
      rows,
      facts: { by_class: byClass, xray_sources: usable.length } satisfies CrossmatchFacts,
    };
  },
});
