/** Every GPU in the cluster, grouped by node, kept live over SSE. */
import { useEffect, useState } from "react";
import { useApi } from "../../api/context";
import type { Fleet } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { useEventStream } from "../../lib/sse";
import { useQuery } from "../../lib/useQuery";
import { applyFleetMessage, groupByNode } from "./fleetState";
import { FleetSummaryBar } from "./FleetSummaryBar";
import { GpuCard } from "./GpuCard";

export function FleetPage() {
  const api = useApi();
  const [fleet, setFleet] = useState<Fleet | null>(null);
  const [streamed, setStreamed] = useState(false);
  const live = useEventStream(
    api.url("/fleet/stream"),
    (m) => {
      setStreamed(true);
      setFleet((f) => applyFleetMessage(f, m.event, m.data));
    },
    ["snapshot", "fleet", "gpu", "update", "upsert", "delete", "removed", "gpu.updated", "gpu.deleted"],
  );
  // The first view comes from GET; while the stream is down it is refreshed by polling.
  const query = useQuery(() => api.fleet(), [api], live === "live" ? {} : { intervalMs: 5000 });
  useEffect(() => {
    if (query.data && (!streamed || live !== "live")) setFleet(query.data);
  }, [query.data, streamed, live]);

  const groups = fleet ? groupByNode(fleet.gpus) : [];
  return (
    <>
      <PageHeader title="Fleet">
        <LiveIndicator state={live} />
      </PageHeader>
      {query.error !== undefined && !fleet && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {!fleet && query.loading && <Loading what="the fleet" />}
      {fleet && <FleetSummaryBar summary={fleet.summary} />}
      {fleet && fleet.gpus.length === 0 && (
        <Empty title="No GPUs reported.">
          <p>The engine has not registered any GPU on the cluster&apos;s nodes.</p>
        </Empty>
      )}
      {groups.map((group) => (
        <section key={group.node} className="node" aria-labelledby={`node-${group.node}`}>
          <h2 id={`node-${group.node}`} className="node-title">
            <span className="mono">{group.node}</span>
            <span className="muted small"> {group.gpus.length} GPU{group.gpus.length === 1 ? "" : "s"}</span>
          </h2>
          <ul className="grid gpus">
            {group.gpus.map((g) => (
              <li key={g.uuid}>
                <GpuCard gpu={g} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}
