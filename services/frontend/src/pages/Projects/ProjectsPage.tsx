/** The Projects board: one card per project with its services' health; create, rename, delete. */
import { useState } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import type { Project, Service } from "../../api/types";
import { PageHeader } from "../../components/Layout";
import { Empty, ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { useQuery } from "../../lib/useQuery";
import { CreateProjectForm } from "./CreateProjectForm";
import { ProjectCard } from "./ProjectCard";

export interface ProjectWithServices {
  project: Project;
  services: Service[] | null;
}

export function ProjectsPage() {
  const api = useApi();
  const [creating, setCreating] = useState(false);
  const query = useQuery<ProjectWithServices[]>(
    async () => {
      const projects = await api.listProjects();
      return Promise.all(
        projects.map(async (project) => ({
          project,
          services: await api.listServices(project.slug).catch(() => null),
        })),
      );
    },
    [api],
    { intervalMs: 15000 },
  );
  const live = useRefetchOn(["project.", "service."], query.refetch);

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
            query.refetch();
          }}
        />
      )}
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="projects" />}
      {query.data && query.data.length === 0 && !creating && (
        <Empty title="No projects yet.">
          <p>A project groups services; its slug becomes their Kubernetes namespace and labels.</p>
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Create your first project
          </button>
        </Empty>
      )}
      {query.data && query.data.length > 0 && (
        <ul className="grid cards" aria-label="Projects">
          {query.data.map((p) => (
            <li key={p.project.slug}>
              <ProjectCard item={p} onChanged={query.refetch} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
