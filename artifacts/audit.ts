import type { ArtifactMeta } from '../schemas/artifact.js';
import type { ArtifactStore } from './store.js';

export interface LineageNode {
  meta: ArtifactMeta;
  role: string | null;
  inputs: LineageNode[];
}

/** The lineage tree of one artifact, down to the raw files that entered through ingest. */
export async function lineageOf(
  store: ArtifactStore,
  meta: ArtifactMeta,
  role: string | null = null,
  seen = new Set<string>(),
): Promise<LineageNode> {
  const inputs: LineageNode[] = [];
  if (!seen.has(meta.id)) {
    seen.add(meta.id);
    for (const [r, id] of Object.entries(meta.inputs).sort(([a], [b]) => a.localeCompare(b))) {
      const child = await store.findById(id);
      if (!child)
        throw new Error(`artifact ${meta.stage}/${meta.id}: input '${r}' ${id} is not in the store ${store.root}`);
      inputs.push(await lineageOf(store, child, r, seen));
    }
  }
  return { meta, role, inputs };
}

/** A text rendering of a lineage tree: stage, id, version, params, raw files with SHA-256. */
export function renderLineage(node: LineageNode, indent = ''): string[] {
  const m = node.meta;
  const role = node.role ? `${node.role} <- ` : '';
  const code = m.code_version?.slice(0, 12) ?? 'unknown';
  const head = `${indent}${role}${m.stage}/${m.id.slice(0, 16)}  v${m.stage_version}  ${m.row_count} rows  code ${code}  ${m.created_at}`;
  const lines = [head];
  const pad = `${indent}    `;
  lines.push(`${pad}params ${summariseParams(m.params)}`);
  for (const f of m.raw_files) lines.push(`${pad}raw file ${f.name}  sha256 ${f.sha256}  ${f.bytes} bytes`);
  for (const child of node.inputs) lines.push(...renderLineage(child, pad));
  return lines;
}

function summariseParams(params: Record<string, unknown>): string {
  const text = JSON.stringify(params);
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}
