/** How much of a GPU's memory is in use, as a bar with the figures beside it. */

export function formatMiB(mib: number): string {
  if (mib >= 1024) return `${(mib / 1024).toFixed(mib % 1024 === 0 ? 0 : 1)} GiB`;
  return `${Math.round(mib)} MiB`;
}

export function MemoryBar({ totalMiB, availableMiB }: { totalMiB: number; availableMiB: number }) {
  const used = Math.max(0, totalMiB - availableMiB);
  const pct = totalMiB > 0 ? Math.min(100, Math.round((used / totalMiB) * 100)) : 0;
  const tone = pct >= 90 ? "bad" : pct >= 70 ? "warn" : "ok";
  return (
    <div className="membar">
      <div
        className="membar-track"
        role="meter"
        aria-label="Memory in use"
        aria-valuemin={0}
        aria-valuemax={totalMiB}
        aria-valuenow={used}
        aria-valuetext={`${formatMiB(used)} of ${formatMiB(totalMiB)} in use`}
      >
        <div className={`membar-fill membar-${tone}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="membar-text">
        {formatMiB(used)} / {formatMiB(totalMiB)}
      </span>
    </div>
  );
}
