/** The audit log: every event on LC_EVENTS, filterable, with a live tail. */
import { useCallback, useEffect, useState } from "react";
import { EVENT_TYPES, useApi, useLiveEvents } from "../../api/context";
import type { AuditEvent, Project } from "../../api/types";
import { SelectField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { describeEvent, matches, mergeEvents } from "./eventsState";

const PAGE = 500;
const MAX_PAGES = 20;
const TYPE_GROUPS = ["project", "service", "domain", "gpu"];

export function EventsPage() {
  const api = useApi();
  const [type, setType] = useState("");
  const [project, setProject] = useState("");
  const [tail, setTail] = useState(true);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  useEffect(() => {
    api.listProjects().then(setProjects, () => setProjects([]));
  }, [api]);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    setEvents([]);
    (async () => {
      // Follow the pages to the newest events; the list keeps the latest ones.
      let after: string | undefined = undefined;
      let all: AuditEvent[] = [];
      for (let i = 0; i < MAX_PAGES; i++) {
        const page = await api.events({ limit: PAGE, ...(after !== undefined ? { after } : {}), ...(type ? { type } : {}), ...(project ? { project } : {}) });
        all = mergeEvents(all, page.items);
        const next = page.next ?? null;
        if (next === null || next === after || page.items.length === 0) break;
        after = next;
      }
      if (!cancelled) {
        setEvents(all);
        setError(undefined);
      }
    })()
      .catch((err: unknown) => {
        if (!cancelled) setError(err);
      })
      .finally(() => {
        if (!cancelled) setLoading(false);
      });
    return () => {
      cancelled = true;
    };
  }, [api, type, project, generation]);

  const live = useLiveEvents(
    tail
      ? (e) => {
          if (matches(e, { type, project })) setEvents((cur) => mergeEvents(cur, [e]));
        }
      : null,
  );

  return (
    <>
      <PageHeader title="Events">
        <LiveIndicator state={tail ? live : "down"} />
      </PageHeader>
      <form className="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Type" name="type" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">All types</option>
          {TYPE_GROUPS.map((g) => (
            <optgroup key={g} label={g}>
              <option value={EVENT_TYPES.filter((t) => t.startsWith(`${g}.`)).join(",")}>all {g} events</option>
              {EVENT_TYPES.filter((t) => t.startsWith(`${g}.`)).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </optgroup>
          ))}
        </SelectField>
        <SelectField label="Project" name="project" value={project} onChange={(e) => setProject(e.target.value)}>
          <option value="">All projects</option>
          {projects.map((p) => (
            <option key={p.slug} value={p.slug}>
              {p.slug}
            </option>
          ))}
        </SelectField>
        <label className="check">
          <input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} /> Live tail
        </label>
        <button type="button" className="btn btn-small" onClick={reload}>
          Refresh
        </button>
      </form>
      {error !== undefined && <ErrorBanner error={error} onRetry={reload} />}
      {loading && <Loading what="events" />}
      {!loading && error === undefined && events.length === 0 && <Empty title="No events match these filters." />}
      {events.length > 0 && (
        <div className="table-wrap">
          <table className="table events" aria-label="Audit log">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">What</th>
                <th scope="col">Actor</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-type={e.type}>
                  <td data-label="#" className="muted mono">
                    {e.seq}
                  </td>
                  <td data-label="Time" className="nowrap">
                    {new Date(e.time).toLocaleString()}
                  </td>
                  <td data-label="Type">
                    <span className={`chip chip-${e.type.split(".")[0]}`}>{e.type}</span>
                  </td>
                  <td data-label="What" className="wrap">
                    {describeEvent(e)}
                  </td>
                  <td data-label="Actor" className="muted">
                    {typeof e.actor === "string" ? e.actor : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
