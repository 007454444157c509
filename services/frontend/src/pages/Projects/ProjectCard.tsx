import { useState } from "react";
import type { FormEvent } from "react";
import { Link } from "react-router-dom";
import { useApi } from "../../api/context";
import { ApiError, describeError } from "../../api/problem";
import { ConfirmButton } from "../../components/ConfirmButton";
import { TextField } from "../../components/Field";
import { StatusBadge } from "../../components/StatusBadge";
import type { Project } from "../../api/types";
import { projectHealth } from "../../lib/health";
import { validateProjectName } from "../../validation/specs";

export function ProjectCard({ project, onChanged }: { project: Project; onChanged: () => void }) {
  const api = useApi();
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(project.name);
  const [nameError, setNameError] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [needsCascade, setNeedsCascade] = useState(false);
  const health = projectHealth(project);

  const rename = async (e: FormEvent) => {
    e.preventDefault();
    const local = validateProjectName(name.trim());
    setNameError(local.name);
    if (local.name) return;
    try {
      await api.renameProject(project.slug, { name: name.trim() });
      setRenaming(false);
      onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.fieldErrors.name) setNameError(err.fieldErrors.name);
      else setError(describeError(err));
    }
  };

  const remove = async (cascade: boolean) => {
    setError(null);
    try {
      await api.deleteProject(project.slug, cascade);
      onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setNeedsCascade(true);
        setError(err.problem.detail ?? "This project still has services.");
      } else setError(describeError(err));
    }
  };

  return (
    <article className="card project-card" aria-labelledby={`project-${project.slug}`}>
      <header className="card-head">
        <h2 id={`project-${project.slug}`}>
          <Link to={`/projects/${encodeURIComponent(project.slug)}`}>{project.name}</Link>
        </h2>
        <StatusBadge value={health.overall === "Empty" ? "No services" : health.overall} />
      </header>
      <p className="muted mono">{project.slug}</p>
      <dl className="facts">
        <div>
          <dt>Services</dt>
          <dd data-testid="service-count">{health.total}</dd>
        </div>
        <div>
          <dt>Ready</dt>
          <dd className="tone-ok">{health.ready}</dd>
        </div>
        <div>
          <dt>Deploying</dt>
          <dd className="tone-busy">{health.deploying}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd className={health.failed ? "tone-bad" : undefined}>{health.failed}</dd>
        </div>
      </dl>
      {error && (
        <div className="state state-error" role="alert">
          {error}
        </div>
      )}
      {renaming ? (
        <form onSubmit={(e) => void rename(e)} className="inline-form" aria-label={`Rename ${project.name}`}>
          <TextField label="New name" value={name} error={nameError} autoFocus onChange={(e) => setName(e.target.value)} />
          <div className="actions">
            <button type="submit" className="btn btn-primary btn-small">
              Save
            </button>
            <button type="button" className="btn btn-small" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <footer className="card-actions">
          <Link className="btn btn-small" to={`/projects/${encodeURIComponent(project.slug)}`}>
            Open
          </Link>
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setRenaming(true)}>
            Rename
          </button>
          {needsCascade ? (
            <ConfirmButton
              label="Delete with services"
              confirmLabel="Delete everything"
              question={`Delete ${project.slug} and all its services?`}
              onConfirm={() => void remove(true)}
            />
          ) : (
            <ConfirmButton
              label="Delete"
              confirmLabel="Delete"
              question={`Delete ${project.slug}?`}
              onConfirm={() => void remove(false)}
            />
          )}
        </footer>
      )}
    </article>
  );
}
