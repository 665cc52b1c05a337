/**
 * A hand-written SVG chart of the bench: one panel per unit (throughput in Gbit/s, packets in kpps, RTT in ms),
 * one group per metric, one bar per path at the median over the rounds, with a whisker from the smallest to the
 * largest round, the median's value over the whisker and the tunvpn/wireguard-go ratio (median of per-round
 * ratios) under each group. Each panel has its own log scale (the raw veth path is often 10-30× faster than any
 * tunnel, which would flatten the tunnels on a linear axis). Pure.
 */
import { DENOMINATOR, METRICS, NUMERATOR, type BenchReport, type Metric, type PathName } from './report.js';
import type { Spread } from '../common/stats.js';

const H = 440;
const M = { top: 74, bottom: 86, left: 64, right: 20 };
const BAR_W = 30;
const BAR_GAP = 6;
const GROUP_GAP = 34;
const PANEL_GAP = 70;
const WHISKER_CAP = 8;
const COLORS: Record<PathName, string> = {
  veth: '#9aa5b1',
  'wireguard-go': '#3b82f6',
  tunvpn: '#f59e0b',
  openvpn: '#10b981',
  tinc: '#8b5cf6',
};

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Decades from floor(log10(min)) to ceil(log10(max)) of the positive values, at least one decade. */
export function decades(values: number[]): { lo: number; hi: number } {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return { lo: 0, hi: 1 };
  const lo = Math.floor(Math.log10(Math.min(...pos)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...pos))));
  return { lo, hi };
}

/** "1.34", "0.0712", "25.3": three significant digits without exponent noise. */
function short(v: number): string {
  return String(+v.toPrecision(3));
}

/** A chart position's y for value v on the panel's log axis. */
export function logY(v: number, lo: number, hi: number, top: number, height: number): number {
  const clamped = Math.min(Math.max(v, 10 ** lo), 10 ** hi);
  return top + height - ((Math.log10(clamped) - lo) / (hi - lo)) * height;
}

interface Panel {
  unit: string;
  metrics: Metric[];
}

function panelsOf(report: BenchReport): Panel[] {
  const shown = METRICS.filter((m) => report.summary.some((s) => s.status === 'ok' && s.metrics[m.id]));
  const panels: Panel[] = [];
  for (const m of shown) {
    const p = panels.find((x) => x.unit === m.unit);
    if (p) p.metrics.push(m);
    else panels.push({ unit: m.unit, metrics: [m] });
  }
  return panels;
}

export function renderSvg(report: BenchReport): string {
  const paths = report.summary.filter((s) => s.status === 'ok');
  const panels = panelsOf(report);
  const groupW = Math.max(1, paths.length) * (BAR_W + BAR_GAP) - BAR_GAP;
  const panelW = (p: Panel) => p.metrics.length * groupW + (p.metrics.length - 1) * GROUP_GAP;
  const W = Math.max(640, M.left + panels.reduce((w, p) => w + panelW(p), 0) + Math.max(0, panels.length - 1) * PANEL_GAP + M.right);
  const plotH = H - M.top - M.bottom;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') => parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`);

  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  text(W / 2, 22, `tunvpn bench: medians of ${report.rounds} round(s), whiskers min–max (${report.seconds} s per test, ${report.host.cpus} CPUs)`, 'text-anchor="middle" font-size="15" font-weight="bold"');
  const sub = [report.date, report.wireguardGo ? report.wireguardGo.version : ''].filter((s) => s !== '').join(' · ');
  text(W / 2, 40, sub, 'text-anchor="middle" font-size="11" fill="#555"');

  let x0 = M.left;
  for (const panel of panels) {
    const values = panel.metrics.flatMap((m) => paths.flatMap((p) => {
      const s = p.metrics[m.id];
      return s ? [s.min, s.max, s.median] : [];
    }));
    const { lo, hi } = decades(values);
    const y = (v: number) => logY(v, lo, hi, M.top, plotH);
    const right = x0 + panelW(panel);
    for (let d = lo; d <= hi; d++) {
      const yy = y(10 ** d);
      parts.push(`<line x1="${x0 - 4}" x2="${right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#ddd"/>`);
      text(x0 - 6, yy + 4, short(10 ** d), 'text-anchor="end" font-size="10" fill="#555"');
    }
    text(x0 - 6, M.top - 10, panel.unit, 'text-anchor="end" font-size="11" font-weight="bold"');
    panel.metrics.forEach((m, gi) => {
      const gx = x0 + gi * (groupW + GROUP_GAP);
      paths.forEach((p, pi) => {
        const s: Spread | undefined = p.metrics[m.id];
        if (!s) return;
        const bx = gx + pi * (BAR_W + BAR_GAP);
        const top = y(s.median);
        const title = `${p.path} ${m.label}: median ${short(s.median)} ${m.unit}, min ${short(s.min)}, max ${short(s.max)} (${s.n} round(s))`;
        parts.push(`<rect x="${bx}" y="${top.toFixed(1)}" width="${BAR_W}" height="${(M.top + plotH - top).toFixed(1)}" fill="${COLORS[p.path]}"><title>${escapeXml(title)}</title></rect>`);
        const cx = bx + BAR_W / 2;
        const yMin = y(s.min);
        const yMax = y(s.max);
        parts.push(
          `<g class="whisker" stroke="#111" stroke-width="1.2"><line x1="${cx}" x2="${cx}" y1="${yMax.toFixed(1)}" y2="${yMin.toFixed(1)}"/>` +
            `<line x1="${cx - WHISKER_CAP / 2}" x2="${cx + WHISKER_CAP / 2}" y1="${yMax.toFixed(1)}" y2="${yMax.toFixed(1)}"/>` +
            `<line x1="${cx - WHISKER_CAP / 2}" x2="${cx + WHISKER_CAP / 2}" y1="${yMin.toFixed(1)}" y2="${yMin.toFixed(1)}"/></g>`,
        );
        text(cx, Math.min(top, yMax) - 4, short(s.median), 'text-anchor="middle" font-size="9"');
      });
      text(gx + groupW / 2, M.top + plotH + 16, m.label, 'text-anchor="middle" font-size="11"');
      const ratio = report.ratios.find((r) => r.metric === m.id);
      if (ratio) text(gx + groupW / 2, M.top + plotH + 31, `${ratio.median.toFixed(2)}×`, 'text-anchor="middle" font-size="11" font-weight="bold"');
    });
    x0 = right + PANEL_GAP;
  }
  if (report.ratios.length > 0) {
    text(M.left, H - 36, `bold: ${NUMERATOR}/${DENOMINATOR}, median of per-round ratios (RTT: lower is better)`, 'font-size="10" fill="#555"');
  }
  paths.forEach((p, i) => {
    const lx = M.left + i * 130;
    const ly = H - 14;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[p.path]}"/>`);
    text(lx + 18, ly, p.path, 'font-size="11"');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
