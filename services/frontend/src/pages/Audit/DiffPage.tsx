/**
 * What changed between two moments (`/audit/diff?from=&to=&project=`): per object, each
 * field's old and new value side by side, and the events that did it.
 */
import { Link, useSearchParams } from "react-router-dom";
import { useApi } from "../../api/context";
import type { Diff, ObjectChange } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, Loading } from "../../components/States";
import { useQuery } from "../../lib/useQuery";
import { showValue } from "./auditLinks";

function momentText(m: { seq: number; time?: string | null }): string {
  return m.time ? `#${m.seq} (${new Date(m.time).toLocaleString()})` : `#${m.seq}`;
}

export function DiffPage() {
  const api = useApi();
  const [params] = useSearchParams();
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const project = params.get("project") ?? "";
  const query = useQuery<Diff | null>(
    () => (from ? api.auditDiff({ from, ...(to ? { to } : {}), ...(project ? { project } : {}) }) : Promise.resolve(null)),
    [api, from, to, project],
  );
  const diff = query.data;

  return (
    <>
      <PageHeader title="What changed" crumbs={<Link to="/events">Events</Link>} />
      {!from && <ErrorBanner error={new Error("Pick a starting moment: open it from an event or a revision.")} />}
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && from && <Loading what="the changes" />}
      {diff && (
        <>
          <p className="lead">
            From {momentText(diff.from)} to {momentText(diff.to)}
            {project ? ` in project ${project}` : ""}: {diff.changes.length} object{diff.changes.length === 1 ? "" : "s"} changed.
          </p>
          {diff.changes.length === 0 && <Empty title="Nothing changed between these moments." />}
          {diff.changes.map((c) => (
            <ChangeCard key={`${c.kind}/${c.projectSlug}/${c.key}`} change={c} />
          ))}
        </>
      )}
    </>
  );
}

function ChangeCard({ change: c }: { change: ObjectChange }) {
  const title = `${c.kind} ${c.kind === "project" ? c.key : `${c.projectSlug}/${c.key}`} ${c.change}`;
  return (
    <section className="card diff-card" aria-label={title}>
      <h2>
        {c.kind} <span className="mono">{c.kind === "project" ? c.key : `${c.projectSlug}/${c.key}`}</span>{" "}
        <span className={`chip chip-${c.change}`}>{c.change}</span>
      </h2>
      {c.fields.length > 0 && (
        <div className="table-wrap">
          <table className="table diff" aria-label={`Field changes of ${c.kind} ${c.key}`}>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Old</th>
                <th scope="col">New</th>
              </tr>
            </thead>
            <tbody>
              {c.fields.map((f) => (
                <tr key={f.pointer}>
                  <th scope="row" className="mono">
                    {f.pointer || "/"}
                  </th>
                  <td data-label="Old" className="diff-old">
                    <pre>{showValue(f.old)}</pre>
                  </td>
                  <td data-label="New" className="diff-new">
                    <pre>{showValue(f.new)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {c.events.length > 0 && (
        <p className="muted small">
          By:{" "}
          {c.events.map((e, i) => (
            <span key={e.id}>
              {i > 0 && ", "}
              <span className="mono">#{e.seq}</span> {e.type} ({e.actor ?? "unknown actor"}, {new Date(e.time).toLocaleString()})
            </span>
          ))}
        </p>
      )}
    </section>
  );
}
