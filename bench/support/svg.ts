// Small self-contained SVG charts for docs/benchmarks.md: lines over a (log) scale and per-second bars.
// No dependencies; the output is plain SVG 1.1 that GitHub renders inline.

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Horizontal reference lines, e.g. a latency target. */
  references?: Array<{ y: number; label: string }>;
  width?: number;
  height?: number;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
      }
    }
    return ticks;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const unit = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 8) ?? step * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / unit) * unit; v <= max + 1e-9; v += unit) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const label = (v: number) => (v >= 1000 ? `${v / 1000}k` : String(v));

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 400;
  const margin = { left: 70, right: 170, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [
    ...options.series.flatMap((s) => s.points.map((p) => p[1])),
    ...(options.references ?? []).map((r) => r.y),
  ].filter((v) => Number.isFinite(v) && (!options.yLog || v > 0));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (options.yLog) {
    yMin = 10 ** Math.floor(Math.log10(yMin));
    yMax = 10 ** Math.ceil(Math.log10(yMax));
  } else {
    yMin = 0;
    yMax *= 1.1;
  }
  const fx = (v: number) =>
    margin.left +
    (options.xLog
      ? ((Math.log(v) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin) || 1)) * plotW
      : ((v - xMin) / (xMax - xMin || 1)) * plotW);
  const fy = (v: number) =>
    margin.top +
    plotH -
    (options.yLog
      ? ((Math.log(v) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin) || 1)) * plotH
      : ((v - yMin) / (yMax - yMin || 1)) * plotH);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="600">${esc(options.title)}</text>`,
  ];
  for (const tick of niceTicks(yMin, yMax, options.yLog ?? false)) {
    const y = fy(tick);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 8}" y="${y + 4}" text-anchor="end" fill="#374151">${label(tick)}</text>`,
    );
  }
  const xTicks = options.xLog ? [...new Set(xs)].sort((a, b) => a - b) : niceTicks(xMin, xMax, false);
  for (const tick of xTicks) {
    const x = fx(tick);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f3f4f6"/>`,
      `<text x="${x}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#374151">${label(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  for (const reference of options.references ?? []) {
    const y = fy(reference.y);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + 6}" y="${y - 5}" fill="#dc2626">${esc(reference.label)}</text>`,
    );
  }
  options.series.forEach((series, index) => {
    const points = series.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.yLog || y > 0),
    );
    const path = points.map(([x, y], i) => `${i ? 'L' : 'M'}${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      ...points.map(
        ([x, y]) => `<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${series.color}"/>`,
      ),
    );
    const ly = margin.top + 14 + index * 18;
    parts.push(
      `<line x1="${width - margin.right + 16}" x2="${width - margin.right + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${width - margin.right + 42}" y="${ly}">${esc(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function barChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  values: number[];
  /** Vertical markers at x positions (bar index, may be fractional). */
  markers?: Array<{ x: number; label: string }>;
  reference?: { y: number; label: string };
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 320;
  const margin = { left: 60, right: 20, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const yMax = Math.max(1, ...options.values, options.reference?.y ?? 0) * 1.15;
  const barW = plotW / Math.max(1, options.values.length);
  const fy = (v: number) => margin.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="600">${esc(options.title)}</text>`,
  ];
  for (const tick of niceTicks(0, yMax, false)) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${fy(tick)}" y2="${fy(tick)}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 8}" y="${fy(tick) + 4}" text-anchor="end" fill="#374151">${label(tick)}</text>`,
    );
  }
  options.values.forEach((value, i) => {
    parts.push(
      `<rect x="${(margin.left + i * barW + 1).toFixed(1)}" y="${fy(value).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${(margin.top + plotH - fy(value)).toFixed(1)}" fill="#2563eb"/>`,
    );
    if (i % 5 === 0) {
      parts.push(
        `<text x="${(margin.left + i * barW + barW / 2).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#374151">${i}</text>`,
      );
    }
  });
  if (options.reference) {
    const y = fy(options.reference.y);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#16a34a" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + plotW - 4}" y="${y - 6}" text-anchor="end" fill="#16a34a">${esc(options.reference.label)}</text>`,
    );
  }
  (options.markers ?? []).forEach((marker, index) => {
    const x = margin.left + marker.x * barW;
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#dc2626" stroke-width="2"/>`,
      `<text x="${x + 4}" y="${margin.top + 14 + index * 16}" fill="#dc2626">${esc(marker.label)}</text>`,
    );
  });
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
