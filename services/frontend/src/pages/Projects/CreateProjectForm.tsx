import { useState } from "react";
import type { FormEvent } from "react";
import { useApi } from "../../api/context";
import { formErrorsOf } from "../../api/problem";
import { FormErrors, TextField } from "../../components/Field";
import { slugify } from "../../lib/health";
import { validateProject } from "../../validation/specs";
import type { FieldErrors } from "../../validation/specs";

export function CreateProjectForm({ onCreated, onCancel }: { onCreated: () => void; onCancel: () => void }) {
  const api = useApi();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { name: name.trim(), slug };
    const local = validateProject(body);
    setErrors(local);
    setFormError([]);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      await api.createProject(body);
      onCreated();
    } catch (err) {
      const found = formErrorsOf(err);
      setErrors(found.fields);
      setFormError(found.form);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form-card" onSubmit={(e) => void submit(e)} aria-label="New project" noValidate>
      <h2>New project</h2>
      <FormErrors errors={formError} />
      <div className="row">
        <TextField
          label="Name"
          name="name"
          autoFocus
          value={name}
          error={errors.name}
          onChange={(e) => {
            setName(e.target.value);
            if (!slugTouched) setSlug(slugify(e.target.value));
          }}
        />
        <TextField
          label="Slug"
          name="slug"
          value={slug}
          error={errors.slug}
          hint="Lowercase letters, digits and '-'; the Kubernetes namespace. Cannot be changed later."
          onChange={(e) => {
            setSlugTouched(true);
            setSlug(e.target.value);
          }}
        />
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create project"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
