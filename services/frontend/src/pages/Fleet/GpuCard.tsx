import { Link } from "react-router-dom";
import type { Gpu } from "../../api/types";
import { MemoryBar } from "../../components/MemoryBar";
import { StatusBadge } from "../../components/StatusBadge";

export function GpuCard({ gpu }: { gpu: Gpu }) {
  return (
    <article
      className={`card gpu-card gpu-${gpu.health.toLowerCase()}`}
      aria-label={`GPU ${gpu.index} on ${gpu.node}`}
      data-uuid={gpu.uuid}
      data-node={gpu.node}
      data-index={gpu.index}
      data-health={gpu.health}
    >
      <header className="card-head">
        <h3>
          GPU {gpu.index} <span className="muted small">{gpu.product}</span>
        </h3>
        <StatusBadge value={gpu.health} />
      </header>
      <div className="gpu-meta">
        <span className="chip">{gpu.mode}</span>
        {gpu.utilization != null && <span className="muted small">{Math.round(gpu.utilization)}% busy</span>}
      </div>
      <MemoryBar totalMiB={gpu.memoryTotalMiB} availableMiB={gpu.memoryAvailableMiB} />
      {gpu.allocations.length > 0 ? (
        <ul className="plain allocations" aria-label="Running here">
          {gpu.allocations.map((a, i) => (
            <li key={i} className="small">
              {a.projectSlug && a.serviceName ? (
                <Link to={`/projects/${encodeURIComponent(a.projectSlug)}/services/${encodeURIComponent(a.serviceName)}`}>
                  {a.projectSlug}/{a.serviceName}
                </Link>
              ) : (
                <span>{a.model ?? "unknown"}</span>
              )}{" "}
              <span className="muted mono">{a.modelName ?? a.model ?? ""}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">Idle</p>
      )}
      <p className="muted mono tiny" title="GPU UUID">
        {gpu.uuid}
      </p>
    </article>
  );
}
