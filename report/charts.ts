import * as vega from 'vega';
import * as vl from 'vega-lite';

/** A Vega-Lite chart rendered to SVG in Node by Vega's headless view (no browser, no canvas). */
export async function chartSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The part every chart shares: schema, title, size and data. */
function frame(title: string, values: unknown[], width = 480, height = 260) {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width, height, data: { values } };
}

export function barChart(
  title: string,
  values: Record<string, unknown>[],
  x: string,
  y: string,
  opts: { color?: string; xTitle?: string; yTitle?: string; xType?: 'nominal' | 'ordinal' | 'quantitative'; stack?: boolean; error?: string } = {},
): vl.TopLevelSpec {
  const layerBar = {
    mark: { type: 'bar' as const },
    encoding: {
      x: { field: x, type: opts.xType ?? 'nominal', title: opts.xTitle ?? x, sort: null },
      y: { field: y, type: 'quantitative' as const, title: opts.yTitle ?? y, ...(opts.stack === false ? { stack: null } : {}) },
      ...(opts.color ? { color: { field: opts.color, type: 'nominal' as const } } : {}),
      ...(opts.color && opts.stack === false ? { xOffset: { field: opts.color } } : {}),
    },
  };
  if (!opts.error) return { ...frame(title, values), ...layerBar } as vl.TopLevelSpec;
  return {
    ...frame(title, values),
    layer: [
      layerBar,
      {
        mark: { type: 'rule' as const },
        encoding: { x: { field: x, type: opts.xType ?? 'nominal', sort: null }, y: { field: 'lo', type: 'quantitative' as const }, y2: { field: 'hi' } },
      },
    ],
    transform: [
      { calculate: `datum.${y} - datum.${opts.error}`, as: 'lo' },
      { calculate: `datum.${y} + datum.${opts.error}`, as: 'hi' },
    ],
  } as vl.TopLevelSpec;
}

export function heatmap(title: string, values: { true_class: string; predicted_class: string; fraction: number | null; count: number }[]): vl.TopLevelSpec {
  return {
    ...frame(title, values, 300, 300),
    encoding: { x: { field: 'predicted_class', type: 'nominal', title: 'predicted' }, y: { field: 'true_class', type: 'nominal', title: 'true' } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'fraction', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues' }, title: 'row fraction' } } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'count', type: 'quantitative' } } },
    ],
  } as vl.TopLevelSpec;
}

export function reliability(title: string, values: { confidence: number; accuracy: number; count: number }[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 320,
    height: 320,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: 'gray' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'mean confidence', scale: { domain: [0, 1] } },
          y: { field: 'y', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
        },
      },
      {
        data: { values },
        mark: { type: 'line' },
        encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', title: 'sources' },
        },
      },
    ],
  } as vl.TopLevelSpec;
}

export function histogramByClass(title: string, values: { class: string; value: number }[], field: string, bins = 30): vl.TopLevelSpec {
  return {
    ...frame(title, values),
    mark: { type: 'bar', opacity: 0.7 },
    encoding: {
      x: { field: 'value', bin: { maxbins: bins }, type: 'quantitative', title: field },
      y: { aggregate: 'count', type: 'quantitative', title: 'sources', stack: null },
      color: { field: 'class', type: 'nominal' },
    },
  } as vl.TopLevelSpec;
}
