import { Link } from "react-router-dom";
import type { Domain } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";

export function DomainsPanel({ domains }: { domains: Domain[] | null }) {
  return (
    <section className="card" aria-labelledby="domains-title">
      <h2 id="domains-title">Custom domains</h2>
      {domains === null && <p className="muted">Domains are unavailable.</p>}
      {domains !== null && domains.length === 0 && <p className="muted">No custom domains point at this service.</p>}
      {domains !== null && domains.length > 0 && (
        <ul className="plain list-rows">
          {domains.map((d) => (
            <li key={d.id}>
              <span className="mono">{d.fqdn}</span> <StatusBadge value={d.status} />
            </li>
          ))}
        </ul>
      )}
      <Link to="/domains" className="btn btn-small">
        Manage domains
      </Link>
    </section>
  );
}
