/**
 * The Projects board: one card per project with its services' health (counts from lcd, one
 * request per page), searched and sorted by lcd, paged as the user scrolls; create, rename,
 * delete. Search and sort live in the URL.
 */
import { memo, useCallback, useState } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import type { Project, ProjectSort } from "../../api/types";
import { SelectField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { ListFooter } from "../../components/ListFooter";
import { SearchBox } from "../../components/SearchBox";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { usePagedList } from "../../lib/usePagedList";
import { useUrlParam } from "../../lib/useUrlParams";
import { CreateProjectForm } from "./CreateProjectForm";
import { ProjectCard } from "./ProjectCard";

export const PROJECT_SORTS: { value: ProjectSort; label: string }[] = [
  { value: "name", label: "Name" },
  { value: "updated", label: "Recently changed" },
  { value: "slug", label: "Slug" },
];

export function sortOf(value: string): ProjectSort {
  return PROJECT_SORTS.some((s) => s.value === value) ? (value as ProjectSort) : "name";
}

const MemoCard = memo(ProjectCard);
const slugOf = (p: Project) => p.slug;

export function ProjectsPage() {
  const api = useApi();
  const [creating, setCreating] = useState(false);
  const [q, setQ] = useUrlParam("q");
  const [sortParam, setSort] = useUrlParam("sort");
  const sort = sortOf(sortParam);
  const list = usePagedList<Project>(
    (after, limit) => api.projectsPage({ sort, limit, ...(q ? { q } : {}), ...(after ? { after } : {}) }),
    [api, q, sort],
    { key: slugOf, intervalMs: 15000 },
  );
  const { refresh } = list;
  const live = useRefetchOn(["project.", "service."], refresh);
  const onChanged = useCallback(() => refresh(), [refresh]);

  return (
    <>
      <PageHeader title="Projects">
        <LiveIndicator state={live} />
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)} disabled={creating}>
          New project
        </button>
      </PageHeader>
      {creating && (
        <CreateProjectForm
          onCancel={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            refresh();
          }}
        />
      )}
      <form className="filters" role="search" aria-label="Find projects" onSubmit={(e) => e.preventDefault()}>
        <SearchBox label="Search projects" placeholder="Name or slug" value={q} onSearch={setQ} />
        <SelectField label="Sort by" name="sort" value={sort} onChange={(e) => setSort(e.target.value === "name" ? "" : e.target.value)}>
          {PROJECT_SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </SelectField>
      </form>
      {list.error !== undefined && <ErrorBanner error={list.error} onRetry={refresh} />}
      {list.loading && <Loading what="projects" />}
      {!list.loading && list.items.length === 0 && list.error === undefined && !creating && (
        q ? (
          <Empty title={`No project matches “${q}”.`} />
        ) : (
          <Empty title="No projects yet.">
            <p>A project groups services; its slug becomes their Kubernetes namespace and labels.</p>
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              Create your first project
            </button>
          </Empty>
        )
      )}
      {list.items.length > 0 && (
        <>
          <ul className="grid cards" aria-label="Projects">
            {list.items.map((p) => (
              <li key={p.slug}>
                <MemoCard project={p} onChanged={onChanged} />
              </li>
            ))}
          </ul>
          <ListFooter shown={list.items.length} noun="projects" hasMore={list.hasMore} loadingMore={list.loadingMore} onMore={list.loadMore} />
        </>
      )}
    </>
  );
}
