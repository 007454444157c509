/** Custom domains: register, publish the TXT challenge, point a CNAME, verify. */
import { useState } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import { useSession } from "../../api/session";
import type { Domain } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { ListFooter } from "../../components/ListFooter";
import { usePagedList } from "../../lib/usePagedList";
import { DomainCard } from "./DomainCard";
import { RegisterDomainForm } from "./RegisterDomainForm";

export function DomainsPage() {
  const api = useApi();
  const { config } = useSession();
  const [registering, setRegistering] = useState(false);
  const list = usePagedList<Domain>(
    (after, limit) => api.domainsPage({ limit, ...(after ? { after } : {}) }),
    [api],
    { key: (d) => d.id, intervalMs: 4000 },
  );
  const query = { error: list.error, refetch: list.refresh, loading: list.loading };
  const live = useRefetchOn(["domain."], list.refresh);

  return (
    <>
      <PageHeader title="Domains">
        <LiveIndicator state={live} />
        <button type="button" className="btn btn-primary" onClick={() => setRegistering(true)} disabled={registering}>
          Register domain
        </button>
      </PageHeader>
      <p className="lead">
        Bring your own hostname: publish the TXT record to prove you own it, point a CNAME at{" "}
        <code>{config?.cnameTarget ?? "the platform ingress"}</code>, then verify. The service&apos;s next apply adds the
        hostname to its Ingress and certificate.
      </p>
      {registering && (
        <RegisterDomainForm
          onCancel={() => setRegistering(false)}
          onRegistered={() => {
            setRegistering(false);
            query.refetch();
          }}
        />
      )}
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="domains" />}
      {!list.loading && list.error === undefined && list.items.length === 0 && !registering && (
        <Empty title="No custom domains yet.">
          <button type="button" className="btn btn-primary" onClick={() => setRegistering(true)}>
            Register a domain
          </button>
        </Empty>
      )}
      {list.items.length > 0 && (
        <>
          <ul className="stack" aria-label="Domains">
            {list.items.map((d) => (
              <li key={d.id}>
                <DomainCard domain={d} fallbackCname={config?.cnameTarget ?? null} onChanged={query.refetch} />
              </li>
            ))}
          </ul>
          <ListFooter shown={list.items.length} noun="domains" hasMore={list.hasMore} loadingMore={list.loadingMore} onMore={list.loadMore} />
        </>
      )}
    </>
  );
}
