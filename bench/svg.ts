/**
 * A hand-written SVG bar chart of the bench: one group per test, one bar per path, log-scaled (the raw veth path
 * is often 10-30× faster than any tunnel, which would flatten the tunnels on a linear axis), the value on each bar
 * and the tunvpn/wireguard-go ratio over each group. Pure.
 */
import { TESTS, type BenchReport, type PathName } from './report.js';

const W = 760;
const H = 420;
const M = { top: 60, right: 20, bottom: 70, left: 70 };
const BAR_W = 44;
const BAR_GAP = 8;
const GROUP_GAP = 50;
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

/** Decades from floor(log10(min)) to ceil(log10(max)) of the values (bits/s). */
function decades(values: number[]): { lo: number; hi: number } {
  const pos = values.filter((v) => v > 0);
  if (pos.length === 0) return { lo: 6, hi: 10 };
  const lo = Math.floor(Math.log10(Math.min(...pos)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...pos))));
  return { lo, hi };
}

function unitLabel(bps: number): string {
  if (bps >= 1e9) return `${+(bps / 1e9).toPrecision(3)} Gbit/s`;
  if (bps >= 1e6) return `${+(bps / 1e6).toPrecision(3)} Mbit/s`;
  return `${+(bps / 1e3).toPrecision(3)} kbit/s`;
}

export function renderSvg(report: BenchReport): string {
  const paths = report.paths.filter((p) => p.status === 'ok');
  const all = paths.flatMap((p) => p.tests.map((t) => t.bitsPerSecond));
  const { lo, hi } = decades(all);
  const plotH = H - M.top - M.bottom;
  const y = (bps: number) => M.top + plotH - ((Math.log10(Math.max(bps, 10 ** lo)) - lo) / (hi - lo)) * plotH;
  const groupW = paths.length * (BAR_W + BAR_GAP) - BAR_GAP;
  const parts: string[] = [];
  const text = (x: number, yy: number, s: string, attrs = '') =>
    parts.push(`<text x="${x.toFixed(1)}" y="${yy.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`);

  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  text(W / 2, 24, `tunvpn bench: throughput a → c (${report.durationSeconds} s per test, ${report.host.cpus} CPUs)`, 'text-anchor="middle" font-size="15" font-weight="bold"');
  text(W / 2, 42, report.date, 'text-anchor="middle" font-size="11" fill="#555"');
  for (let d = lo; d <= hi; d++) {
    const yy = y(10 ** d);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#ddd"/>`);
    text(M.left - 6, yy + 4, unitLabel(10 ** d), 'text-anchor="end" font-size="10" fill="#555"');
  }
  text(14, M.top + plotH / 2, 'throughput (log scale)', `transform="rotate(-90 14 ${M.top + plotH / 2})" text-anchor="middle" font-size="11"`);

  TESTS.forEach((t, gi) => {
    const gx = M.left + 20 + gi * (groupW + GROUP_GAP);
    paths.forEach((p, pi) => {
      const r = p.tests.find((x) => x.test === t.id);
      if (!r) return;
      const x = gx + pi * (BAR_W + BAR_GAP);
      const top = y(r.bitsPerSecond);
      parts.push(`<rect x="${x}" y="${top.toFixed(1)}" width="${BAR_W}" height="${(M.top + plotH - top).toFixed(1)}" fill="${COLORS[p.path]}"><title>${escapeXml(`${p.path} ${t.label}: ${unitLabel(r.bitsPerSecond)}`)}</title></rect>`);
      text(x + BAR_W / 2, top - 4, unitLabel(r.bitsPerSecond), 'text-anchor="middle" font-size="9"');
    });
    text(gx + groupW / 2, M.top + plotH + 18, t.label, 'text-anchor="middle" font-size="12"');
    const ratio = report.ratios.find((q) => q.test === t.id);
    if (ratio) text(gx + groupW / 2, M.top + plotH + 34, `tunvpn/wireguard-go = ${ratio.ratio.toFixed(2)}×`, 'text-anchor="middle" font-size="11" font-weight="bold"');
  });
  paths.forEach((p, i) => {
    const lx = M.left + i * 130;
    const ly = H - 14;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[p.path]}"/>`);
    text(lx + 18, ly, p.path, 'font-size="11"');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
