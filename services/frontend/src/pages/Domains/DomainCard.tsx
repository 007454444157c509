import { useState } from "react";
import { Link } from "react-router-dom";
import { useApi } from "../../api/context";
import { describeError } from "../../api/problem";
import type { Domain } from "../../api/types";
import { CopyValue } from "../../components/CodeBlock";
import { ConfirmButton } from "../../components/ConfirmButton";
import { StatusBadge } from "../../components/StatusBadge";

export function failureOf(d: Domain): string | null {
  const s = d.status.toLowerCase();
  if (s === "verified") return null;
  return d.lastFailure ?? null;
}

export function DomainCard({ domain: d, fallbackCname, onChanged }: { domain: Domain; fallbackCname: string | null; onChanged: () => void }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const verified = d.status.toLowerCase() === "verified";
  const cname = d.cnameTarget ?? fallbackCname;
  const failure = failureOf(d);

  const verify = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.verifyDomain(d.id);
      onChanged();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    try {
      await api.deleteDomain(d.id);
      onChanged();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <article className="card domain-card" aria-labelledby={`domain-${d.id}`} data-fqdn={d.fqdn}>
      <header className="card-head">
        <h2 id={`domain-${d.id}`} className="mono">
          {d.fqdn}
        </h2>
        <span aria-live="polite">
          <StatusBadge value={d.status} />
        </span>
      </header>
      <p className="muted">
        Serves{" "}
        <Link to={`/projects/${encodeURIComponent(d.projectSlug)}/services/${encodeURIComponent(d.serviceName)}`}>
          {d.projectSlug}/{d.serviceName}
        </Link>
      </p>
      {failure && (
        <div className="state state-error" role="alert" data-testid="domain-failure">
          Verification failed: {failure}
        </div>
      )}
      {error && (
        <div className="state state-error" role="alert">
          {error}
        </div>
      )}
      <table className="records" aria-label={`DNS records for ${d.fqdn}`}>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>TXT</td>
            <td>
              <CopyValue value={d.challengeRR} label="TXT record name" />
            </td>
            <td>
              <CopyValue value={d.challengeToken} label="TXT record value" />
            </td>
          </tr>
          <tr>
            <td>CNAME</td>
            <td>
              <CopyValue value={d.fqdn} label="CNAME name" />
            </td>
            <td>{cname ? <CopyValue value={cname} label="CNAME target" /> : <span className="muted">ask your platform team</span>}</td>
          </tr>
        </tbody>
      </table>
      <footer className="card-actions">
        <button type="button" className="btn btn-primary btn-small" onClick={() => void verify()} disabled={busy}>
          {busy ? "Verifying…" : verified ? "Verify again" : "Verify"}
        </button>
        {d.updatedAt && <span className="muted small">Updated {new Date(d.updatedAt).toLocaleTimeString()}</span>}
        <ConfirmButton label="Remove" confirmLabel="Remove domain" question={`Remove ${d.fqdn}?`} onConfirm={() => void remove()} />
      </footer>
    </article>
  );
}
