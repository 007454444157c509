/** A project's services, with live status badges. */
import { Link, useParams } from "react-router-dom";
import { useApi, useRefetchOn } from "../../api/context";
import type { Project, Service } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { phaseOf } from "../../lib/health";
import { useQuery } from "../../lib/useQuery";
import { SecretsSection } from "../Secrets/SecretsSection";

export function workloadOf(service: Service): string {
  if (service.spec.kind.model) return service.spec.kind.model.modelName;
  if (service.spec.kind.container) return service.spec.kind.container.image;
  return "—";
}

export function ServicesPage() {
  const { slug = "" } = useParams();
  const api = useApi();
  const query = useQuery<{ project: Project; services: Service[] }>(
    async () => {
      const [project, services] = await Promise.all([api.getProject(slug), api.listServices(slug)]);
      return { project, services };
    },
    [api, slug],
    { intervalMs: 5000 },
  );
  const live = useRefetchOn(["service.", "project."], query.refetch);
  const base = `/projects/${encodeURIComponent(slug)}`;

  return (
    <>
      <PageHeader
        title={query.data?.project.name ?? slug}
        crumbs={
          <>
            <Link to="/">Projects</Link> / <span className="mono">{slug}</span>
          </>
        }
      >
        <LiveIndicator state={live} />
        <Link className="btn btn-primary" to={`${base}/services/new`}>
          New service
        </Link>
      </PageHeader>
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="services" />}
      {query.data && query.data.services.length === 0 && (
        <Empty title="No services in this project yet.">
          <p>Deploy an inference model or a CPU/GPU container.</p>
          <Link className="btn btn-primary" to={`${base}/services/new`}>
            Deploy a service
          </Link>
        </Empty>
      )}
      {query.data && query.data.services.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Services">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Tier</th>
                <th scope="col">Model / image</th>
                <th scope="col">Status</th>
                <th scope="col">Revision</th>
                <th scope="col">URL</th>
              </tr>
            </thead>
            <tbody>
              {query.data.services.map((s) => (
                <tr key={s.name} data-service={s.name}>
                  <td data-label="Name">
                    <Link to={`${base}/services/${encodeURIComponent(s.name)}`} className="strong">
                      {s.name}
                    </Link>
                  </td>
                  <td data-label="Tier">
                    <span className={`tier tier-${s.spec.tier}`}>{s.spec.tier}</span>
                  </td>
                  <td data-label="Workload" className="mono ellipsis" title={workloadOf(s)}>
                    {workloadOf(s)}
                  </td>
                  <td data-label="Status">
                    <StatusBadge value={phaseOf(s)} title={s.status?.message ?? undefined} />
                    {s.status?.message && <div className="muted small">{s.status.message}</div>}
                  </td>
                  <td data-label="Revision">{s.revision}</td>
                  <td data-label="URL" className="ellipsis">
                    {s.url ? (
                      <a href={s.url} target="_blank" rel="noreferrer" className="mono">
                        {s.url.replace(/^https?:\/\//, "")}
                      </a>
                    ) : (
                      <span className="muted">not exposed</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {query.data && <SecretsSection slug={slug} />}
    </>
  );
}
