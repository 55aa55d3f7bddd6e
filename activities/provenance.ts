import { groupBy } from '../lib/group.js';
import {
  ProvenanceParams,
  labelAgreementTable,
  labelProvenanceTable,
  labelRowsTable,
  labelStatusTable,
  type LabelAgreementRow,
  type LabelProvenanceRow,
  type LabelStatusRow,
  type LabelRow,
} from '../schemas/labels.js';
import { NoContext } from '../schemas/params.js';
import { ProvenanceFacts } from '../schemas/facts.js';
import { agreementOf, matchProvenance, type ProvenanceSource } from '../lib/sky/provenance.js';
import { defineStage, rolePattern } from './stage.js';
import { sourcesTable } from '../schemas/tables.js';

/**
 * `provenance`: for every training source (in scope, labelled), every catalogue that
 * labels it, matched by the CSC 2.0 name a catalogue gives, else by position with the
 * method's cross-match rules (lib/sky/provenance.ts); each source's agreement (another
 * catalogue confirms its label, contradicts it, or none labels it) and the agreement
 * table, training label x each catalogue's label. Nothing is relabelled: the training
 * stage decides from this what to do with conflicts (config labels.conflicts).
 */
export const provenanceStage = defineStage({
  name: 'provenance',
  version: 2,
  params: ProvenanceParams,
  inputs: {
    roles: { sources: { from: ['ingest'] } },
    pattern: { ...rolePattern<`catalog_${number}`>(/^catalog_\d+$/), from: 'labels' },
  },
  context: NoContext,
  tables: { data: labelProvenanceTable, status: labelStatusTable, agreement: labelAgreementTable },
  facts: ProvenanceFacts,
  async run(ctx, p) {
    const { sources: srcRef, ...catalogRefs } = ctx.inputs;
    const all = await ctx.store.readTable(sourcesTable, srcRef);
    // every X-ray source with a position error is a match candidate; only training sources receive labels
    const xray: ProvenanceSource[] = all
      .filter((s) => s.pos_err_95_arcsec !== null && s.significance !== null)
      .map((s) => ({
        id: s.id,
        label: s.in_scope ? s.label : null,
        ra_deg: s.ra_deg,
        dec_deg: s.dec_deg,
        sigma_eff_arcsec: s.pos_err_95_arcsec!,
        significance: s.significance!,
      }));
    const training = all.filter((s) => s.in_scope && s.label !== null);
    const labels: LabelRow[] = [];
    for (const [, ref] of Object.entries(catalogRefs).sort(([a], [b]) => (a < b ? -1 : 1)))
      for (const row of await ctx.store.readTable(labelRowsTable, ref))
        if (row.catalog !== p.training_catalog) labels.push(row);
    const matches = matchProvenance(labels, xray, p);
    const byId = groupBy(matches, (m) => xray[m.source]!.id);
    const provenance: LabelProvenanceRow[] = [];
    const status: LabelStatusRow[] = [];
    const cells = new Map<string, number>();
    const byLabel: ProvenanceFacts['by_label'] = {};
    const cell = (label: string, catalog: string, catalogLabel: string) => {
      const k = `${label}\u0000${catalog}\u0000${catalogLabel}`;
      cells.set(k, (cells.get(k) ?? 0) + 1);
    };
    for (const s of [...training].sort((a, b) => a.id.localeCompare(b.id))) {
      const label = s.label!;
      provenance.push({
        id: s.id,
        label,
        catalog: p.training_catalog,
        name: s.counterpart_name ?? s.id,
        class: label,
        class_raw: s.label_raw,
        subclass: null,
        match_by: 'muwclass',
        sep_arcsec: null,
        nu: null,
        reference: s.label_ref ?? '',
      });
      const own = (byId.get(s.id) ?? []).map((m) => ({ m, l: labels[m.label]! }));
      // one catalogue may list a source twice (two rows within its radius): each row is kept, the agreement counts each catalogue once
      for (const { m, l } of own)
        provenance.push({
          id: s.id,
          label,
          catalog: l.catalog,
          name: l.name,
          class: l.class,
          class_raw: l.class_raw,
          subclass: l.subclass,
          match_by: m.by,
          sep_arcsec: m.sep_arcsec,
          nu: m.nu,
          reference: l.reference,
        });
      const agreement = agreementOf(
        label,
        own.map(({ l }) => l),
      );
      const catalogs = [...new Set(own.map(({ l }) => l.catalog))].sort();
      const shown = [
        ...new Set(own.map(({ l }) => `${l.catalog}:${l.class ?? l.class_raw}${l.subclass ? `/${l.subclass}` : ''}`)),
      ].sort();
      status.push({ id: s.id, label, catalogs: catalogs.join('|'), labels: shown.join('|'), agreement });
      const b = (byLabel[label] ??= { sources: 0, agree: 0, conflict: 0, unconfirmed: 0 });
      b.sources++;
      b[agreement]++;
      if (catalogs.length === 0) cell(label, 'none', '');
      for (const c of catalogs)
        for (const cls of [
          ...new Set(own.filter(({ l }) => l.catalog === c).map(({ l }) => l.class ?? l.class_raw)),
        ].sort())
          cell(label, c, cls);
    }
    const agreementRows: LabelAgreementRow[] = [...cells].map(([k, sources]) => {
      const [label, catalog, catalog_label] = k.split('\u0000') as [string, string, string];
      return { label, catalog, catalog_label, sources };
    });
    agreementRows.sort(
      (a, b) =>
        a.label.localeCompare(b.label) ||
        a.catalog.localeCompare(b.catalog) ||
        a.catalog_label.localeCompare(b.catalog_label),
    );
    const covered = [...new Set(labels.flatMap((l) => (l.class === null ? [] : [l.class])))].sort();
    return {
      table: labelProvenanceTable,
      rows: provenance,
      extraTables: {
        status: { table: labelStatusTable, rows: status },
        agreement: { table: labelAgreementTable, rows: agreementRows },
      },
      notes: {
        matched_by_name: matches.filter((m) => m.by === 'name').length,
        matched_by_position: matches.filter((m) => m.by === 'position').length,
        conflicts: status.filter((r) => r.agreement === 'conflict').map((r) => `${r.id} ${r.label}: ${r.labels}`),
      },
      facts: { by_label: byLabel, covered_classes: covered } satisfies ProvenanceFacts,
    };
  },
});
