import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { useApi } from "../../api/context";
import { ApiError, describeError } from "../../api/problem";
import type { Project, Service } from "../../api/types";
import { FormErrors, SelectField, TextField } from "../../components/Field";
import { validateDomain } from "../../validation/specs";
import type { FieldErrors } from "../../validation/specs";

export function RegisterDomainForm({ onRegistered, onCancel }: { onRegistered: () => void; onCancel: () => void }) {
  const api = useApi();
  const [fqdn, setFqdn] = useState("");
  const [projectSlug, setProject] = useState("");
  const [serviceName, setService] = useState("");
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [services, setServices] = useState<Service[] | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.listProjects().then(
      (ps) => {
        setProjects(ps);
        if (ps[0]) setProject((cur) => cur || ps[0]!.slug);
      },
      (err: unknown) => setFormError([describeError(err)]),
    );
  }, [api]);

  useEffect(() => {
    if (!projectSlug) return;
    setServices(null);
    api.listServices(projectSlug).then(
      (ss) => {
        setServices(ss);
        setService((cur) => (ss.some((s) => s.name === cur) ? cur : (ss[0]?.name ?? "")));
      },
      () => setServices([]),
    );
  }, [api, projectSlug]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { fqdn: fqdn.trim(), projectSlug, serviceName };
    const local = validateDomain(body);
    setErrors(local);
    setFormError([]);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await api.registerDomain(body);
      onRegistered();
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors.length) {
        setErrors(err.fieldErrors);
        setFormError([err.problem.detail ?? err.problem.title]);
      } else setFormError([describeError(err)]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form-card" onSubmit={(e) => void submit(e)} aria-label="Register a domain" noValidate>
      <h2>Register a domain</h2>
      <FormErrors errors={formError} />
      <div className="row">
        <TextField
          label="Domain"
          name="fqdn"
          placeholder="chat.acme.com"
          autoFocus
          value={fqdn}
          error={errors.fqdn}
          onChange={(e) => setFqdn(e.target.value)}
        />
        <SelectField label="Project" name="projectSlug" value={projectSlug} error={errors.projectSlug} onChange={(e) => setProject(e.target.value)}>
          {projects === null && <option value="">Loading…</option>}
          {projects?.length === 0 && <option value="">No projects</option>}
          {projects?.map((p) => (
            <option key={p.slug} value={p.slug}>
              {p.name} ({p.slug})
            </option>
          ))}
        </SelectField>
        <SelectField label="Service" name="serviceName" value={serviceName} error={errors.serviceName} onChange={(e) => setService(e.target.value)}>
          {services === null && <option value="">Loading…</option>}
          {services?.length === 0 && <option value="">No services in this project</option>}
          {services?.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}
            </option>
          ))}
        </SelectField>
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Registering…" : "Register"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
