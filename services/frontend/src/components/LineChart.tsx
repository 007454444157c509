/**
 * A small time-series line chart in plain SVG: one line per series, a y-axis with three
 * ticks, a time axis, and a legend. It scales to its container's width.
 */

export interface Point {
  t: number;
  v: number;
}

export interface Series {
  name: string;
  points: Point[];
}

const PALETTE = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#475569"];
const W = 640;
const H = 200;
const PAD = { l: 52, r: 12, t: 10, b: 24 };

export function colourOf(index: number): string {
  return PALETTE[index % PALETTE.length] ?? "#475569";
}

export function formatValue(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (Math.abs(v) >= 10) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

function clock(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function LineChart({ title, unit, series }: { title: string; unit: string; series: Series[] }) {
  const all = series.flatMap((s) => s.points);
  const hasData = all.length > 0;
  const tMin = hasData ? Math.min(...all.map((p) => p.t)) : 0;
  const tMax = hasData ? Math.max(...all.map((p) => p.t)) : 1;
  const vMax = Math.max(1e-9, ...all.map((p) => p.v)) * 1.1;
  const x = (t: number) => PAD.l + ((t - tMin) / Math.max(1, tMax - tMin)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / vMax) * (H - PAD.t - PAD.b);
  const ticks = [0, vMax / 2, vMax];

  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-unit">{unit}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title} (${unit})`} preserveAspectRatio="none">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(v)} y2={y(v)} className="chart-grid" />
            <text x={PAD.l - 6} y={y(v) + 4} textAnchor="end" className="chart-tick">
              {formatValue(v)}
            </text>
          </g>
        ))}
        {hasData && (
          <>
            <text x={PAD.l} y={H - 6} className="chart-tick">
              {clock(tMin)}
            </text>
            <text x={W - PAD.r} y={H - 6} textAnchor="end" className="chart-tick">
              {clock(tMax)}
            </text>
          </>
        )}
        {series.map((s, i) =>
          s.points.length === 1 ? (
            <circle key={s.name} cx={x(s.points[0]!.t)} cy={y(s.points[0]!.v)} r={3} fill={colourOf(i)} />
          ) : (
            <polyline
              key={s.name}
              fill="none"
              stroke={colourOf(i)}
              strokeWidth={2}
              vectorEffect="non-scaling-stroke"
              points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ")}
            />
          ),
        )}
      </svg>
      {!hasData && <p className="chart-empty">No samples yet.</p>}
      <ul className="legend">
        {series.map((s, i) => (
          <li key={s.name}>
            <span className="swatch" style={{ background: colourOf(i) }} aria-hidden="true" />
            {s.name}
            {s.points.length > 0 && <strong> {formatValue(s.points[s.points.length - 1]!.v)}</strong>}
          </li>
        ))}
      </ul>
    </figure>
  );
}
