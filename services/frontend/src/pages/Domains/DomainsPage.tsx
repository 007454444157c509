/** Custom domains: register, publish the TXT challenge, point a CNAME, verify. */
import { useState } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import { useSession } from "../../api/session";
import type { Domain } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { useQuery } from "../../lib/useQuery";
import { DomainCard } from "./DomainCard";
import { RegisterDomainForm } from "./RegisterDomainForm";

export function DomainsPage() {
  const api = useApi();
  const { config } = useSession();
  const [registering, setRegistering] = useState(false);
  const query = useQuery<Domain[]>(() => api.listDomains(), [api], { intervalMs: 4000 });
  const live = useRefetchOn(["domain."], query.refetch);

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
      {query.data && query.data.length === 0 && !registering && (
        <Empty title="No custom domains yet.">
          <button type="button" className="btn btn-primary" onClick={() => setRegistering(true)}>
            Register a domain
          </button>
        </Empty>
      )}
      {query.data && query.data.length > 0 && (
        <ul className="stack" aria-label="Domains">
          {query.data.map((d) => (
            <li key={d.id}>
              <DomainCard domain={d} fallbackCname={config?.cnameTarget ?? null} onChanged={query.refetch} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
