import type { FleetSummary } from "../../api/types";
import { MemoryBar } from "../../components/MemoryBar";

export function FleetSummaryBar({ summary: s }: { summary: FleetSummary }) {
  return (
    <section className="card summary" aria-label="Fleet summary">
      <dl className="facts big">
        <div>
          <dt>GPUs</dt>
          <dd data-testid="fleet-total">{s.total}</dd>
        </div>
        <div>
          <dt>Healthy</dt>
          <dd className="tone-ok" data-testid="fleet-healthy">
            {s.healthy}
          </dd>
        </div>
        <div>
          <dt>Degraded</dt>
          <dd className={s.degraded ? "tone-warn" : undefined} data-testid="fleet-degraded">
            {s.degraded}
          </dd>
        </div>
        <div>
          <dt>Unhealthy</dt>
          <dd className={s.unhealthy ? "tone-bad" : undefined} data-testid="fleet-unhealthy">
            {s.unhealthy}
          </dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd>{Object.keys(s.byNode).length}</dd>
        </div>
      </dl>
      <div className="summary-side">
        <div>
          <div className="muted small">Memory in use across the fleet</div>
          <MemoryBar totalMiB={s.memoryTotalMiB} availableMiB={s.memoryAvailableMiB} />
        </div>
        <ul className="chips" aria-label="GPUs by product">
          {Object.entries(s.byProduct).map(([product, n]) => (
            <li key={product} className="chip">
              {product} × {n}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
