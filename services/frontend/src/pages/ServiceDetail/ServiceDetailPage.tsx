/** One Service: status, URLs, how to call it, its spec, revisions (with rollback) and domains. */
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useApi, useRefetchOn } from "../../api/context";
import type { Domain, Revision, Service } from "../../api/types";
import { ConfirmButton } from "../../components/ConfirmButton";
import { PageHeader } from "../../components/Layout";
import { ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { phaseOf } from "../../lib/health";
import { serviceUrls } from "../../lib/snippets";
import { useQuery } from "../../lib/useQuery";
import { DomainsPanel } from "./DomainsPanel";
import { RevisionsPanel } from "./RevisionsPanel";
import { UsagePanel } from "./UsagePanel";

interface Detail {
  service: Service;
  revisions: Revision[] | null;
  domains: Domain[] | null;
}

export function ServiceDetailPage() {
  const { slug = "", name = "" } = useParams();
  const api = useApi();
  const navigate = useNavigate();
  const [actionError, setActionError] = useState<unknown>(undefined);
  const query = useQuery<Detail>(
    async () => {
      const [service, revisions, domains] = await Promise.all([
        api.getService(slug, name),
        api.listRevisions(slug, name).catch(() => null),
        api.listDomains().catch(() => null),
      ]);
      return {
        service,
        revisions,
        domains: domains?.filter((d) => d.projectSlug === slug && d.serviceName === name) ?? null,
      };
    },
    [api, slug, name],
    { intervalMs: 5000 },
  );
  const live = useRefetchOn(["service.", "domain."], query.refetch);
  const base = `/projects/${encodeURIComponent(slug)}`;
  const here = `${base}/services/${encodeURIComponent(name)}`;

  const remove = async () => {
    try {
      await api.deleteService(slug, name);
      navigate(base);
    } catch (err) {
      setActionError(err);
    }
  };

  const rollback = async (revision: number) => {
    setActionError(undefined);
    try {
      await api.rollbackService(slug, name, revision);
      query.refetch();
    } catch (err) {
      setActionError(err);
    }
  };

  const s = query.data?.service;
  return (
    <>
      <PageHeader
        title={name}
        crumbs={
          <>
            <Link to="/">Projects</Link> / <Link to={base}>{slug}</Link>
          </>
        }
      >
        <LiveIndicator state={live} />
        {s && <StatusBadge value={phaseOf(s)} />}
        <Link className="btn" to={`${here}/edit`}>
          Edit
        </Link>
        <ConfirmButton label="Delete" confirmLabel="Delete service" question={`Delete ${name}?`} onConfirm={() => void remove()} />
      </PageHeader>
      {actionError !== undefined && <ErrorBanner error={actionError} />}
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="the service" />}
      {s && query.data && (
        <div className="detail-grid">
          <section className="card" aria-labelledby="status-title">
            <h2 id="status-title">Status</h2>
            <dl className="kv">
              <dt>Phase</dt>
              <dd>
                <StatusBadge value={phaseOf(s)} />
              </dd>
              <dt>Message</dt>
              <dd data-testid="status-message">{s.status?.message || <span className="muted">—</span>}</dd>
              <dt>Ready replicas</dt>
              <dd>{s.status?.readyReplicas ?? 0}</dd>
              <dt>Revision</dt>
              <dd>
                {s.revision}
                {!!s.status.observedRevision && s.status.observedRevision !== s.revision && (
                  <span className="muted small"> (running {s.status.observedRevision})</span>
                )}
              </dd>
              <dt>Tier</dt>
              <dd>
                <span className={`tier tier-${s.spec.tier}`}>{s.spec.tier}</span>
              </dd>
              <dt>URLs</dt>
              <dd>
                {serviceUrls(s).length === 0 ? (
                  <span className="muted">not exposed</span>
                ) : (
                  <ul className="plain">
                    {serviceUrls(s).map((u) => (
                      <li key={u}>
                        <a href={u} target="_blank" rel="noreferrer" className="mono">
                          {u}
                        </a>
                      </li>
                    ))}
                  </ul>
                )}
              </dd>
            </dl>
          </section>
          <UsagePanel service={s} />
          <section className="card" aria-labelledby="spec-title">
            <h2 id="spec-title">Spec</h2>
            <pre className="spec">{JSON.stringify(s.spec, null, 2)}</pre>
          </section>
          <RevisionsPanel revisions={query.data.revisions} current={s.revision} onRollback={(r) => void rollback(r)} project={slug} />
          <DomainsPanel domains={query.data.domains} />
        </div>
      )}
    </>
  );
}

