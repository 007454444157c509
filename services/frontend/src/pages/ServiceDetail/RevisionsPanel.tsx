import { Link } from "react-router-dom";
import type { Revision } from "../../api/types";
import { diffHref } from "../Audit/auditLinks";
import { ConfirmButton } from "../../components/ConfirmButton";
import { Empty } from "../../components/States";

function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function summary(r: Revision): string {
  const m = r.spec.kind.model;
  if (m) return `${m.modelName} · ${m.dtype ?? "auto"}`;
  const c = r.spec.kind.container;
  return c ? `${c.image} · ${c.replicas ?? 1} replica(s)` : r.spec.tier;
}

export function RevisionsPanel({
  revisions,
  current,
  onRollback,
  project,
}: {
  revisions: Revision[] | null;
  current: number;
  onRollback: (revision: number) => void;
  /** The service's project: with it, each revision links to what changed since the one before. */
  project?: string;
}) {
  const sorted = [...(revisions ?? [])].sort((a, b) => b.revision - a.revision);
  return (
    <section className="card span-2" aria-labelledby="revisions-title">
      <h2 id="revisions-title">Revisions</h2>
      {revisions === null && <p className="muted">Revision history is unavailable.</p>}
      {revisions !== null && sorted.length === 0 && <Empty title="No revisions yet." />}
      {sorted.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Revisions">
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Applied</th>
                <th scope="col">What</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r, i) => {
                const before = sorted[i + 1];
                return (
                <tr key={r.revision}>
                  <td data-label="Revision">
                    <strong>{r.revision}</strong>
                    {r.revision === current && <span className="badge badge-ok"> current</span>}
                    {r.rollbackOf != null && <span className="muted small"> rollback to {r.rollbackOf}</span>}
                  </td>
                  <td data-label="Applied">{when(r.createdAt)}</td>
                  <td data-label="What" className="mono ellipsis">
                    {summary(r)}
                  </td>
                  <td data-label="">
                    {r.revision !== current && (
                      <ConfirmButton
                        label={`Roll back to ${r.revision}`}
                        confirmLabel="Roll back"
                        question={`Apply revision ${r.revision} again?`}
                        onConfirm={() => onRollback(r.revision)}
                      />
                    )}
                    {project && before?.createdAt && r.createdAt && (
                      <Link className="btn btn-small btn-ghost" to={diffHref({ from: before.createdAt, to: r.createdAt, project })}>
                        Changes since {before.revision}
                      </Link>
                    )}
                  </td>
                </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
