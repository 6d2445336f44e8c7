// An SVG of latency percentiles per server, one panel per scenario, on a logarithmic scale: the bare
// route, Gatehouse and the hand-written endpoint differ by orders of magnitude.
import type { Machine } from "./machine.js";
import { PERCENTILE_LABELS, PERCENTILES } from "./stats.js";
import { type Aggregate, SCENARIO_TITLES, type ScenarioName } from "./windows.js";

interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly values: readonly number[];
}

const PANELS: {
  title: string;
  series: { scenario: ScenarioName; server: Aggregate["server"]; label?: string }[];
}[] = [
  {
    title: SCENARIO_TITLES["signup-fixed"],
    series: [
      { scenario: "signup-fixed", server: "bare" },
      { scenario: "signup-fixed", server: "gatehouse" },
      { scenario: "signup-fixed", server: "hand-written" },
    ],
  },
  {
    title: SCENARIO_TITLES["signup-low"],
    series: [
      { scenario: "signup-low", server: "bare" },
      { scenario: "signup-low", server: "gatehouse" },
      { scenario: "signup-low", server: "hand-written" },
    ],
  },
  {
    title: "warm PRE_SIGNUP, half of Gatehouse's throughput",
    series: [
      { scenario: "signup-half", server: "bare" },
      { scenario: "signup-half", server: "gatehouse" },
      { scenario: "signup-half-slow", server: "gatehouse", label: "gatehouse, providers at 2 s" },
      { scenario: "signup-half", server: "hand-written" },
    ],
  },
  {
    title: SCENARIO_TITLES["session-fixed"],
    series: [
      { scenario: "session-fixed", server: "bare" },
      { scenario: "session-fixed", server: "gatehouse" },
      { scenario: "session-fixed", server: "hand-written" },
    ],
  },
];

const COLORS: Record<string, string> = { bare: "#7f7f7f", gatehouse: "#1f77b4", "hand-written": "#d62728" };

const escapeText = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

function ticks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max * 10; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step;
      if (value >= min && value <= max) out.push(Number(value.toPrecision(3)));
    }
  }
  return out;
}

export function latencyChart(aggregates: readonly Aggregate[], machine: Machine, subtitle: string): string {
  const panels = PANELS.map((panel) => ({
    title: panel.title,
    series: panel.series.flatMap((s): Series[] => {
      const found = aggregates.find((a) => a.scenario === s.scenario && a.server === s.server);
      if (!found) return [];
      const rate = found.targetRate === undefined ? "" : ` @ ${found.targetRate}/s`;
      return [
        {
          label: `${s.label ?? s.server}${rate}`,
          color: s.label ? "#ff7f0e" : (COLORS[s.server] ?? "#000"),
          dashed: s.label !== undefined,
          values: PERCENTILES.map((p) => found.latency[p]),
        },
      ];
    }),
  })).filter((panel) => panel.series.length > 0);

  const all = panels
    .flatMap((p) => p.series.flatMap((s) => s.values))
    .filter((v) => Number.isFinite(v) && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const [panelW, panelH, left, top, gap] = [400, 300, 60, 70, 30];
  const plotW = panelW - left - 20;
  const plotH = panelH - 110;
  const width = panels.length * (panelW + gap) + 20;
  const height = top + panelH;
  const y = (v: number) =>
    plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const x = (i: number) => (i / (PERCENTILES.length - 1)) * plotW;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>Latency percentiles per server (ms, log scale)</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="22" font-size="15" font-weight="bold">Latency percentiles per server (ms, log scale)</text>`,
    `<text x="20" y="40" fill="#444">${escapeText(subtitle)}</text>`,
    `<text x="20" y="55" fill="#444">${escapeText(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, Redis ${machine.redis}`)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const ox = 20 + index * (panelW + gap) + left;
    const oy = top + 20;
    parts.push(`<g transform="translate(${ox},${oy})">`);
    parts.push(`<text x="0" y="-8" font-weight="bold">${escapeText(panel.title)}</text>`);
    for (const tick of ticks(lo, hi)) {
      parts.push(
        `<line x1="0" x2="${plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="-6" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#555">${tick}</text>`,
      );
    }
    PERCENTILES.forEach((p, i) => {
      parts.push(
        `<text x="${x(i).toFixed(1)}" y="${plotH + 16}" text-anchor="middle" fill="#555">${PERCENTILE_LABELS[p]}</text>`,
      );
    });
    parts.push(`<rect x="0" y="0" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    panel.series.forEach((series, s) => {
      const points = series.values
        .map((v, i) => (Number.isFinite(v) && v > 0 ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : undefined))
        .filter((point) => point !== undefined);
      const dash = series.dashed ? ` stroke-dasharray="6 4"` : "";
      parts.push(
        `<polyline points="${points.join(" ")}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
      );
      for (const point of points) {
        const [px, py] = point.split(",");
        parts.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${series.color}"/>`);
      }
      const ly = plotH + 36 + s * 15;
      parts.push(
        `<line x1="0" x2="18" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${dash}/>`,
        `<text x="24" y="${ly}">${escapeText(series.label)}</text>`,
      );
    });
    parts.push("</g>");
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
