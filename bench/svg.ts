/**
 * Write latency over time, safe above naive, drawn by hand from the report's own data (so the
 * picture can always be redrawn from latest.json): the slowest write per 100 ms on a log scale,
 * each migration file as a band, the configured lock_timeout as a dashed line, failures in red.
 */
import type { Bucket, StepMark } from "./zero-downtime.js";

export interface Panel {
  title: string;
  buckets: Bucket[];
  steps: StepMark[];
  apply: { start: number; end: number };
  durationSeconds: number;
}

export interface ChartInput {
  heading: string;
  lockTimeoutMs: number;
  panels: Panel[];
}

const W = 1100;
const PADDING_S = 1.5;
const PANEL_H = 300;
const M = { left: 70, right: 20, top: 58, bottom: 46 };
const COLORS = { tx: "#f4a259", noTx: "#5b8cc6", line: "#1f2d3d", fail: "#d62828", limit: "#8a1c7c", grid: "#e3e6ea", text: "#222" };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmtMs = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

function niceStep(range: number, target: number): number {
  const raw = range / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function shortName(folder: string): string {
  return folder.replace(/^\d+_/, "");
}

export function latencySvg(input: ChartInput): string {
  const maxMs = Math.max(input.lockTimeoutMs, ...input.panels.flatMap((p) => p.buckets.map((b) => b[1])), 10);
  const yTop = 10 ** Math.ceil(Math.log10(maxMs * 1.2));
  const yBottom = 1;
  // Every panel on one axis, from a little before its migrator started to a little after the
  // longest apply ended: the steady state either side, and the steps as wide as possible.
  const xMin = -PADDING_S;
  const xMax = Math.max(...input.panels.map((p) => p.apply.end - p.apply.start), 0.5) + PADDING_S;
  const plotW = W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  let offset = 0;
  const x = (t: number) => M.left + ((Math.min(xMax, Math.max(xMin, t - offset)) - xMin) / (xMax - xMin)) * plotW;
  const y = (ms: number) => M.top + plotH - ((Math.log10(Math.max(ms, yBottom)) - Math.log10(yBottom)) / (Math.log10(yTop) - Math.log10(yBottom))) * plotH;
  const out: string[] = [];
  const height = 40 + PANEL_H * input.panels.length + 30;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="26" font-size="16" font-weight="bold" fill="${COLORS.text}">${esc(input.heading)}</text>`);

  input.panels.forEach((panel, i) => {
    offset = panel.apply.start;
    const visible = (t: number) => t - offset >= xMin && t - offset <= xMax;
    out.push(`<g transform="translate(0, ${40 + i * PANEL_H})">`);
    out.push(`<text x="${M.left}" y="${M.top - 30}" font-size="14" font-weight="bold" fill="${COLORS.text}">${esc(panel.title)}</text>`);
    // Migration files as bands; labels for the ones wide enough to matter.
    const applyW = Math.max(1e-6, panel.apply.end - panel.apply.start);
    const labelled = new Set(
      [...panel.steps]
        .sort((a, b) => b.end - b.start - (a.end - a.start))
        .slice(0, 8)
        .filter((s) => (s.end - s.start) / applyW > 0.03)
        .map((s) => s.folder),
    );
    let lastLabelX = -Infinity;
    panel.steps.forEach((s, k) => {
      const x0 = x(s.start);
      const w = Math.max(1, x(s.end) - x0);
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${M.top}" width="${w.toFixed(1)}" height="${plotH}" fill="${s.transactional ? COLORS.tx : COLORS.noTx}" fill-opacity="${k % 2 ? 0.22 : 0.35}"><title>${esc(`${s.folder} (${s.transactional ? "transaction" : "no-transaction"}) ${((s.end - s.start) * 1000).toFixed(0)} ms${s.attempts > 1 ? `, ${s.attempts} attempts` : ""}`)}</title></rect>`,
      );
      const lx = x0 + w / 2 + 4;
      if (labelled.has(s.folder) && lx - lastLabelX >= 13) {
        lastLabelX = lx;
        out.push(`<text transform="translate(${lx.toFixed(1)}, ${M.top + 6}) rotate(90)" font-size="10" fill="#444">${esc(shortName(s.folder))}</text>`);
      }
    });
    // Grid and axes.
    for (let d = yBottom; d <= yTop; d *= 10) {
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="${COLORS.grid}"/>`);
      out.push(`<text x="${M.left - 8}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end" fill="${COLORS.text}">${fmtMs(d)}</text>`);
    }
    const step = niceStep(xMax - xMin, 12);
    for (let t = Math.ceil(xMin / step) * step; t <= xMax + 1e-9; t += step) {
      const tx = x(t + offset).toFixed(1);
      out.push(`<line x1="${tx}" x2="${tx}" y1="${M.top + plotH}" y2="${M.top + plotH + 5}" stroke="${COLORS.text}"/>`);
      out.push(`<text x="${tx}" y="${M.top + plotH + 18}" text-anchor="middle" fill="${COLORS.text}">${Number(t.toFixed(3))}</text>`);
    }
    out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    out.push(
      `<text x="${M.left + plotW / 2}" y="${M.top + plotH + 36}" text-anchor="middle" fill="${COLORS.text}">seconds since the migrator started (the load runs throughout)</text>`,
    );
    out.push(`<text transform="translate(16, ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${COLORS.text}">slowest write per 100 ms (log)</text>`);
    // The migrator process: start and exit.
    for (const [t, label, anchor] of [
      [panel.apply.start, "migrator starts", "end"],
      [panel.apply.end, "migrator exits", "start"],
    ] as const) {
      out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${M.top - 4}" y2="${M.top + plotH}" stroke="#555" stroke-dasharray="2,3"/>`);
      out.push(`<text x="${(x(t) + (anchor === "end" ? -4 : 4)).toFixed(1)}" y="${M.top - 8}" text-anchor="${anchor}" font-size="10" fill="#555">${label}</text>`);
    }
    // The lock_timeout the migrator was given.
    const ly = y(input.lockTimeoutMs).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ly}" y2="${ly}" stroke="${COLORS.limit}" stroke-width="1.5" stroke-dasharray="6,4"/>`);
    out.push(`<text x="${W - M.right - 4}" y="${Number(ly) - 5}" text-anchor="end" fill="${COLORS.limit}">lock_timeout ${fmtMs(input.lockTimeoutMs)}</text>`);
    // Latency: one point per 100 ms bucket, joined.
    const shown = panel.buckets.filter((b) => visible(b[0] + 0.05));
    const pts = shown.map((b) => `${x(b[0] + 0.05).toFixed(1)},${y(b[1]).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${pts}" fill="none" stroke="${COLORS.line}" stroke-width="1.2"/>`);
    for (const b of shown.filter((b) => b[3] > 0)) {
      const cx = x(b[0] + 0.05);
      const cy = y(b[1]);
      out.push(
        `<path d="M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}" stroke="${COLORS.fail}" stroke-width="2"><title>${b[3]} failed writes</title></path>`,
      );
    }
    out.push(`</g>`);
  });
  // Legend.
  const ly = 40 + PANEL_H * input.panels.length + 8;
  const legend: [string, string][] = [
    [COLORS.tx, "file in one transaction"],
    [COLORS.noTx, "no-transaction file (CREATE INDEX CONCURRENTLY)"],
    [COLORS.fail, "failed writes"],
  ];
  let lx = M.left;
  for (const [color, label] of legend) {
    out.push(
      `<rect x="${lx}" y="${ly}" width="14" height="12" fill="${color}" fill-opacity="0.6"/><text x="${lx + 20}" y="${ly + 10}" fill="${COLORS.text}">${esc(label)}</text>`,
    );
    lx += 30 + label.length * 6.5;
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
