/**
 * A project as it was at a moment the user picks (`/projects/:slug/as-of?at=`): its
 * services (spec, revision, phase) and domains, read-only.
 */
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useApi } from "../../api/context";
import type { ProjectState } from "../../api/types";
import { TextField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { useQuery } from "../../lib/useQuery";
import { localToRfc3339 } from "./auditLinks";

export function AsOfPage() {
  const { slug = "" } = useParams();
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const at = params.get("at") ?? "";
  const [local, setLocal] = useState("");
  const query = useQuery<ProjectState | null>(() => (at ? api.projectState(slug, at) : Promise.resolve(null)), [api, slug, at]);
  const state = query.data;
  const base = `/projects/${encodeURIComponent(slug)}`;

  return (
    <>
      <PageHeader
        title={`${slug} as it was`}
        crumbs={
          <>
            <Link to="/">Projects</Link> / <Link to={base}>{slug}</Link>
          </>
        }
      />
      <form
        className="filters"
        aria-label="Pick a moment"
        onSubmit={(e) => {
          e.preventDefault();
          const moment = localToRfc3339(local);
          if (moment) setParams({ at: moment }, { replace: true });
        }}
      >
        <TextField label="As of" type="datetime-local" step={1} value={local} onChange={(e) => setLocal(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={!localToRfc3339(local)}>
          Show
        </button>
      </form>
      {!at && <p className="lead">Pick a moment to see the project, its services and domains as they were then.</p>}
      {query.error !== undefined && <ErrorBanner error={query.error} />}
      {query.loading && at && <Loading what="the project's past state" />}
      {state && (
        <>
          <p className="lead" role="status">
            Read-only: “{state.name}” as of event #{state.asOf.seq}
            {state.asOf.time ? ` (${new Date(state.asOf.time).toLocaleString()})` : ""}.
          </p>
          {state.services.length === 0 ? (
            <Empty title="No services then." />
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label="Services then">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Revision</th>
                    <th scope="col">Phase</th>
                    <th scope="col">Spec</th>
                  </tr>
                </thead>
                <tbody>
                  {state.services.map((s) => (
                    <tr key={s.name} data-service={s.name}>
                      <th scope="row">{s.name}</th>
                      <td data-label="Tier">{s.tier}</td>
                      <td data-label="Revision">{s.revision}</td>
                      <td data-label="Phase">
                        <StatusBadge value={s.phase ?? "Pending"} />
                      </td>
                      <td data-label="Spec">
                        <pre className="mono small" tabIndex={0} aria-label={`Spec of ${s.name} then`}>
                          {JSON.stringify(s.spec, null, 2)}
                        </pre>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {state.domains.length > 0 && (
            <ul className="plain" aria-label="Domains then">
              {state.domains.map((d) => (
                <li key={d.id}>
                  <span className="mono">{d.fqdn}</span> → {d.serviceName} ({d.status})
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}
