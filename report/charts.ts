import * as vega from 'vega';
import * as vl from 'vega-lite';

/** A Vega-Lite chart rendered to SVG in Node by Vega's headless view (no browser, no canvas). */
export async function chartSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  // Vega marks every datum it ingests (a symbol property): it gets copies, so the caller's
  // rows (frozen when read from the store) stay as they are
  for (const d of compiled.data ?? [])
    if ('values' in d && Array.isArray(d.values))
      d.values = d.values.map((v: unknown) => (v !== null && typeof v === 'object' ? { ...v } : v));
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
  opts: {
    color?: string;
    xTitle?: string;
    yTitle?: string;
    xType?: 'nominal' | 'ordinal' | 'quantitative';
    stack?: boolean;
    error?: string;
  } = {},
): vl.TopLevelSpec {
  const layerBar = {
    mark: { type: 'bar' as const },
    encoding: {
      x: { field: x, type: opts.xType ?? 'nominal', title: opts.xTitle ?? x, sort: null },
      y: {
        field: y,
        type: 'quantitative' as const,
        title: opts.yTitle ?? y,
        ...(opts.stack === false ? { stack: null } : {}),
      },
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
        encoding: {
          x: { field: x, type: opts.xType ?? 'nominal', sort: null },
          y: { field: 'lo', type: 'quantitative' as const },
          y2: { field: 'hi' },
        },
      },
    ],
    transform: [
      { calculate: `datum.${y} - datum.${opts.error}`, as: 'lo' },
      { calculate: `datum.${y} + datum.${opts.error}`, as: 'hi' },
    ],
  } as vl.TopLevelSpec;
}

export function heatmap(
  title: string,
  values: { true_class: string; predicted_class: string; fraction: number | null; count: number }[],
): vl.TopLevelSpec {
  return {
    ...frame(title, values, 300, 300),
    encoding: {
      x: { field: 'predicted_class', type: 'nominal', title: 'predicted' },
      y: { field: 'true_class', type: 'nominal', title: 'true' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'fraction',
            type: 'quantitative',
            scale: { domain: [0, 1], scheme: 'blues' },
            title: 'row fraction',
          },
        },
      },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'count', type: 'quantitative' } } },
    ],
  } as vl.TopLevelSpec;
}

/**
 * Reliability diagram: accuracy against mean confidence per bin, one line per series
 * (e.g. the Monte-Carlo mean and the single-value prediction); where a point has `lo`
 * and `hi`, a horizontal rule from the bin's mean 16% to its mean 84% point of the top
 * class's probability over the Monte-Carlo draws.
 */
export function reliability(
  title: string,
  values: {
    confidence: number;
    accuracy: number;
    count: number;
    series?: string;
    lo?: number | null;
    hi?: number | null;
  }[],
): vl.TopLevelSpec {
  const data = values.map((v) => ({ ...v, series: v.series ?? 'model' }));
  const colour = { field: 'series', type: 'nominal', title: null };
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
        data: { values: data.filter((v) => v.lo !== undefined && v.lo !== null && v.hi !== null) },
        mark: { type: 'rule', opacity: 0.6 },
        encoding: {
          x: { field: 'lo', type: 'quantitative' },
          x2: { field: 'hi' },
          y: { field: 'accuracy', type: 'quantitative' },
          color: colour,
        },
      },
      {
        data: { values: data },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          color: colour,
        },
      },
      {
        data: { values: data },
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', title: 'sources' },
          color: colour,
        },
      },
    ],
  } as vl.TopLevelSpec;
}

export function histogramByClass(
  title: string,
  values: { class: string; value: number }[],
  field: string,
  bins = 30,
): vl.TopLevelSpec {
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

/**
 * One colour per XClass class, shared by the report's plots and the DS9 region files
 * (Tableau 10, which both Vega and DS9 draw as given).
 */
export const CLASS_COLOURS: Record<string, string> = {
  AGN: '#4e79a7',
  LMXB: '#e15759',
  HMXB: '#f28e2b',
  CV: '#b07aa1',
  'LM-STAR': '#59a14f',
  'HM-STAR': '#76b7b2',
  SNR: '#9c755f',
};

/**
 * A scatter plot coloured by class (the class colours above), uncertain sources drawn
 * hollow; `reverseY` for magnitudes (bright up) and `reverseX` for right ascension (east left).
 */
export function scatterByClass(
  title: string,
  values: { class: string; x: number; y: number; uncertain: boolean }[],
  opts: { xTitle: string; yTitle: string; reverseX?: boolean; reverseY?: boolean },
): vl.TopLevelSpec {
  const classes = [...new Set(values.map((v) => v.class))].sort();
  return {
    ...frame(title, values, 420, 320),
    mark: { type: 'point', size: 30 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: opts.xTitle,
        scale: { zero: false, reverse: opts.reverseX === true },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.yTitle,
        scale: { zero: false, reverse: opts.reverseY === true },
      },
      color: {
        field: 'class',
        type: 'nominal',
        scale: { domain: classes, range: classes.map((c) => CLASS_COLOURS[c] ?? '#888888') },
        legend: { title: 'class' },
      },
      // the same field and scale as the colour: one legend, filled symbols; an uncertain source is drawn hollow
      fill: {
        condition: { test: 'datum.uncertain', value: 'transparent' },
        field: 'class',
        type: 'nominal',
        scale: { domain: classes, range: classes.map((c) => CLASS_COLOURS[c] ?? '#888888') },
        legend: { title: 'class' },
      },
      opacity: { value: 0.85 },
    },
  } as vl.TopLevelSpec;
}
