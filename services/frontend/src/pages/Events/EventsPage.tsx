/**
 * The audit log: newest first, paged back through everything lcd holds, filtered by lcd
 * (type, project, actor; kept in the URL), with a live tail. A row opens to the whole event.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { EVENT_TYPES, useApi, useLiveEvents } from "../../api/context";
import type { AuditEvent } from "../../api/types";
import { SelectField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { ListFooter } from "../../components/ListFooter";
import { SearchBox } from "../../components/SearchBox";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { useUrlParam } from "../../lib/useUrlParams";
import { diffHref } from "../Audit/auditLinks";
import { describeEvent, keyOf, matches, mergeEvents, projectOf } from "./eventsState";

const PAGE = 100;
const TYPE_GROUPS = ["project", "service", "domain", "gpu"];

export function EventsPage() {
  const api = useApi();
  const [type, setType] = useUrlParam("type");
  const [project, setProject] = useUrlParam("project");
  const [actor, setActor] = useUrlParam("actor");
  const [tail, setTail] = useState(true);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = useRef(0);

  const page = useCallback(
    (after?: string) =>
      api.events({
        order: "desc",
        limit: PAGE,
        ...(after !== undefined ? { after } : {}),
        ...(type ? { type } : {}),
        ...(project ? { project } : {}),
        ...(actor ? { actor } : {}),
      }),
    [api, type, project, actor],
  );

  useEffect(() => {
    const mine = ++current.current;
    setLoading(true);
    setEvents([]);
    setNext(null);
    page().then(
      (p) => {
        if (mine !== current.current) return;
        setEvents(p.items);
        setNext(p.next ?? null);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== current.current) return;
        setError(err);
        setLoading(false);
      },
    );
  }, [page, generation]);

  const loadMore = useCallback(() => {
    if (next === null || loadingMore) return;
    const mine = current.current;
    setLoadingMore(true);
    page(next)
      .then(
        (p) => {
          if (mine !== current.current) return;
          setEvents((cur) => mergeEvents(cur, p.items, Number.MAX_SAFE_INTEGER));
          setNext(p.next ?? null);
        },
        (err: unknown) => {
          if (mine === current.current) setError(err);
        },
      )
      .finally(() => setLoadingMore(false));
  }, [next, loadingMore, page]);

  const live = useLiveEvents(
    tail
      ? (e) => {
          if (matches(e, { type, project, actor })) setEvents((cur) => mergeEvents(cur, [e], Number.MAX_SAFE_INTEGER));
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
        <SearchBox label="Project" placeholder="slug" value={project} onSearch={setProject} delayMs={400} />
        <SearchBox label="Actor" placeholder="admin, a component…" value={actor} onSearch={setActor} delayMs={400} />
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
        <>
          <div className="table-wrap">
            <table className="table events paged" aria-label="Audit log">
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
                {events.map((e) => {
                  const key = keyOf(e);
                  const expanded = open === key;
                  return (
                    <EventRow key={key} event={e} expanded={expanded} onToggle={() => setOpen(expanded ? null : key)} />
                  );
                })}
              </tbody>
            </table>
          </div>
          <ListFooter shown={events.length} noun="events" hasMore={next !== null} loadingMore={loadingMore} onMore={loadMore} />
        </>
      )}
    </>
  );
}

function EventRow({ event: e, expanded, onToggle }: { event: AuditEvent; expanded: boolean; onToggle: () => void }) {
  const detailId = `event-${keyOf(e)}`;
  return (
    <>
      <tr data-type={e.type} data-seq={e.seq}>
        <td data-label="#" className="muted mono">
          <button
            type="button"
            className="btn btn-small btn-ghost mono"
            aria-expanded={expanded}
            aria-controls={expanded ? detailId : undefined}
            aria-label={`Event ${e.seq}, ${e.type}: ${expanded ? "hide" : "show"} details`}
            onClick={onToggle}
          >
            {e.seq}
          </button>
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
      {expanded && (
        <tr className="event-detail">
          <td colSpan={5} id={detailId}>
            <dl className="facts">
              <div>
                <dt>Event id</dt>
                <dd className="mono">{e.id}</dd>
              </div>
              <div>
                <dt>Correlation</dt>
                <dd className="mono">{e.correlationid ?? "—"}</dd>
              </div>
              <div>
                <dt>Subject</dt>
                <dd className="mono">{e.subject ?? "—"}</dd>
              </div>
            </dl>
            <pre className="code" aria-label={`Data of event ${e.seq}`} tabIndex={0}>
              {JSON.stringify(e.data, null, 2)}
            </pre>
            <Link className="btn btn-small" to={diffHref({ from: String(e.seq), project: projectOf(e) })}>
              What changed since this event
            </Link>
          </td>
        </tr>
      )}
    </>
  );
}
