import type { RunRecord } from '../schemas/run.js';
import { chartSvg } from './charts.js';

/** HTML pieces shared by the report's sections. */
export const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
export const num = (v: unknown, d = 3) => (typeof v === 'number' ? v.toFixed(d) : '–');
export const idTag = (stage: string, id: string | null | undefined) =>
  id ? `<span class="id" title="${esc(id)}">${esc(stage)}/${esc(id.slice(0, 12))}</span>` : '';

export function table(headers: string[], rows: unknown[][]): string {
  // an id tag (a <span>) is already HTML; every other cell is escaped
  const cell = (c: unknown) => `<td>${typeof c === 'string' && c.startsWith('<span') ? c : esc(c)}</td>`;
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('');
  // a wide table scrolls inside its own box, so the page never runs off the screen
  return `<div class="tw"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export async function plot(title: string, spec: Parameters<typeof chartSvg>[0], source: string): Promise<string> {
  return `<figure class="plot">${await chartSvg(spec)}<figcaption>${esc(title)} ${source}</figcaption></figure>`;
}

/** The report page around its sections. */
export function page(run: RunRecord, parts: readonly string[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>XClass report ${esc(run.run_id)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
.tw{max-width:100%;overflow-x:auto}
@media print{.tw{overflow:visible}table{font-size:8px}}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.id{font-family:monospace;font-size:12px;color:#555;background:#f6f6f6;padding:0 3px}
.src{color:#555;font-size:12px}
.headline{font-size:16px}
.protocol{background:#fff6e0;padding:.5em;border-left:4px solid #e0a000}
figure.plot{display:inline-block;margin:1em 1em 1em 0;vertical-align:top}
figcaption{font-size:12px;color:#444;max-width:520px}
</style>
</head><body>
<h1>XClass report</h1>
<p>Run <code>${esc(run.run_id)}</code> (${esc(run.status)}, engine ${esc(run.engine)}, started ${esc(run.started_at)}),
config <code>${esc(run.config_hash.slice(0, 16))}</code>, code <code>${esc(run.code_version ?? 'unknown')}</code>.
Audit any id below with <code>xclass audit ID</code>.</p>
${parts.join('\n')}
</body></html>
`;
}
