/**
 * A project's services, with live status badges: searched by name and filtered by phase
 * and tier by lcd (the filters live in the URL), paged as the user scrolls.
 */
import { useCallback } from "react";
import { Link, useParams } from "react-router-dom";
import { useApi, useRefetchOn } from "../../api/context";
import { TIERS } from "../../api/types";
import type { Project, Service, ServicePhase, Tier } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { ListFooter } from "../../components/ListFooter";
import { SearchBox } from "../../components/SearchBox";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { phaseOf } from "../../lib/health";
import { usePagedList } from "../../lib/usePagedList";
import { useQuery } from "../../lib/useQuery";
import { SecretsSection } from "../Secrets/SecretsSection";
import { useUrlList, useUrlParam } from "../../lib/useUrlParams";

export const PHASES: readonly ServicePhase[] = ["Pending", "Deploying", "Ready", "Failed"];
const nameOf = (s: Service) => s.name;

/** `values` without the ones not in `allowed` (a hand-edited URL cannot send junk). */
function only<T extends string>(values: readonly string[], allowed: readonly T[]): T[] {
  return allowed.filter((a) => values.includes(a));
}

function toggled(values: readonly string[], value: string, on: boolean): string[] {
  return on ? [...values.filter((v) => v !== value), value] : values.filter((v) => v !== value);
}

export function workloadOf(service: Service): string {
  if (service.spec.kind.model) return service.spec.kind.model.modelName;
  if (service.spec.kind.container) return service.spec.kind.container.image;
  return "—";
}

export function ServicesPage() {
  const { slug = "" } = useParams();
  const api = useApi();
  const [q, setQ] = useUrlParam("q");
  const [phaseParams, setPhases] = useUrlList("phase");
  const [tierParams, setTiers] = useUrlList("tier");
  const phases = only(phaseParams, PHASES);
  const tiers = only(tierParams, TIERS);
  const filtered = q !== "" || phases.length > 0 || tiers.length > 0;
  const project = useQuery<Project>(() => api.getProject(slug), [api, slug], { intervalMs: 15000 });
  const list = usePagedList<Service>(
    (after, limit) =>
      api.servicesPage(slug, { limit, phase: phases, tier: tiers, ...(q ? { q } : {}), ...(after ? { after } : {}) }),
    [api, slug, q, phases.join(","), tiers.join(",")],
    { key: nameOf, intervalMs: 5000 },
  );
  const { refresh } = list;
  const projectRefetch = project.refetch;
  const onEvent = useCallback(() => {
    refresh();
    projectRefetch();
  }, [refresh, projectRefetch]);
  const live = useRefetchOn(["service.", "project."], onEvent);
  const base = `/projects/${encodeURIComponent(slug)}`;
  const query = { error: list.error ?? project.error, refetch: onEvent, loading: list.loading };

  return (
    <>
      <PageHeader
        title={project.data?.name ?? slug}
        crumbs={
          <>
            <Link to="/">Projects</Link> / <span className="mono">{slug}</span>
          </>
        }
      >
        <LiveIndicator state={live} />
        <Link className="btn" to={`${base}/as-of`}>
          As of…
        </Link>
        <Link className="btn btn-primary" to={`${base}/services/new`}>
          New service
        </Link>
      </PageHeader>
      <form className="filters" role="search" aria-label="Find services" onSubmit={(e) => e.preventDefault()}>
        <SearchBox label="Search services" placeholder="Name" value={q} onSearch={setQ} />
        <fieldset>
          <legend>Phase</legend>
          {PHASES.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={phases.includes(p)} onChange={(e) => setPhases(toggled(phases, p, e.target.checked))} /> {p}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Tier</legend>
          {TIERS.map((t: Tier) => (
            <label key={t} className="check">
              <input type="checkbox" checked={tiers.includes(t)} onChange={(e) => setTiers(toggled(tiers, t, e.target.checked))} /> {t}
            </label>
          ))}
        </fieldset>
      </form>
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="services" />}
      {!list.loading && list.error === undefined && list.items.length === 0 && filtered && (
        <Empty title="No service matches these filters." />
      )}
      {!list.loading && list.error === undefined && list.items.length === 0 && !filtered && (
        <Empty title="No services in this project yet.">
          <p>Deploy an inference model or a CPU/GPU container.</p>
          <Link className="btn btn-primary" to={`${base}/services/new`}>
            Deploy a service
          </Link>
        </Empty>
      )}
      {list.items.length > 0 && (
        <>
        <div className="table-wrap">
          <table className="table paged" aria-label="Services">
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
              {list.items.map((s) => (
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
        <ListFooter shown={list.items.length} noun="services" hasMore={list.hasMore} loadingMore={list.loadingMore} onMore={list.loadMore} />
        </>
      )}
      {project.data && <SecretsSection slug={slug} />}
    </>
  );
}
