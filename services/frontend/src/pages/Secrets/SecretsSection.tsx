/**
 * A project's secrets: create, list names and versions, rotate, delete. A value is typed
 * into a password input, sent once and forgotten: lcd never answers it back, and the
 * console keeps it only until the request is sent.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import { describeError, formErrorsOf } from "../../api/problem";
import type { Secret } from "../../api/types";
import { ConfirmButton } from "../../components/ConfirmButton";
import { FormErrors, TextField } from "../../components/Field";
import { ErrorBanner, Loading } from "../../components/States";
import { useQuery } from "../../lib/useQuery";

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function SecretsSection({ slug }: { slug: string }) {
  const api = useApi();
  const query = useQuery<Secret[]>(() => api.listSecrets(slug), [api, slug]);
  useRefetchOn(["secret.", "project."], query.refetch);
  const [rotating, setRotating] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string[]>([]);

  const remove = async (name: string) => {
    setActionError([]);
    try {
      await api.deleteSecret(slug, name);
    } catch (err) {
      setActionError([describeError(err)]);
    }
    query.refetch();
  };

  return (
    <section className="card secrets" aria-label="Secrets">
      <h2>Secrets</h2>
      <p className="muted small">
        Values are sealed when saved and never shown again. A container reads one with an env entry{" "}
        <code className="mono">{'{"name": "HF_TOKEN", "secretRef": "hf-token"}'}</code>.
      </p>
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="secrets" />}
      <FormErrors errors={actionError} />
      {query.data && query.data.length === 0 && <p className="muted">No secrets in this project yet.</p>}
      {query.data && query.data.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Project secrets">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {query.data.map((s) => (
                <tr key={s.name} data-secret={s.name}>
                  <td data-label="Name" className="mono">
                    {s.name}
                  </td>
                  <td data-label="Version">{s.version}</td>
                  <td data-label="Updated">{new Date(s.updatedAt).toLocaleString()}</td>
                  <td data-label="Actions">
                    {rotating === s.name ? (
                      <SecretValueForm
                        slug={slug}
                        name={s.name}
                        onDone={() => {
                          setRotating(null);
                          query.refetch();
                        }}
                      />
                    ) : (
                      <span className="actions">
                        <button type="button" className="btn" onClick={() => setRotating(s.name)}>
                          Rotate
                        </button>
                        <ConfirmButton
                          label="Delete"
                          confirmLabel={`Delete ${s.name}`}
                          question={`Delete secret ${s.name}? Containers that use it will not start.`}
                          onConfirm={() => void remove(s.name)}
                        />
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateSecretForm slug={slug} onCreated={query.refetch} />
    </section>
  );
}

function CreateSecretForm({ slug, onCreated }: { slug: string; onCreated: () => void }) {
  const api = useApi();
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!NAME.test(name)) local.name = "lowercase letters, digits and '-', at most 63 characters";
    if (!value) local.value = "a secret needs a value";
    setErrors(local);
    setFormError([]);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      await api.createSecret(slug, { name, value });
      setName("");
      onCreated();
    } catch (err) {
      const found = formErrorsOf(err);
      setErrors(found.fields);
      setFormError(found.form);
    } finally {
      // The value is never kept past its request, whatever the answer.
      setValue("");
      setBusy(false);
    }
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="New secret" noValidate>
      <FormErrors errors={formError} />
      <div className="row">
        <TextField label="Secret name" name="secret-name" value={name} error={errors.name} onChange={(e) => setName(e.target.value)} />
        <TextField
          label="Value"
          name="secret-value"
          type="password"
          autoComplete="new-password"
          value={value}
          error={errors.value}
          onChange={(e) => setValue(e.target.value)}
        />
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : "Add secret"}
        </button>
      </div>
    </form>
  );
}

function SecretValueForm({ slug, name, onDone }: { slug: string; name: string; onDone: () => void }) {
  const api = useApi();
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value) {
      setError("a secret needs a value");
      return;
    }
    setBusy(true);
    try {
      await api.rotateSecret(slug, name, { value });
      onDone();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setValue("");
      setBusy(false);
    }
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`Rotate ${name}`} noValidate>
      <TextField
        label={`New value of ${name}`}
        name="secret-new-value"
        type="password"
        autoComplete="new-password"
        autoFocus
        value={value}
        error={error}
        onChange={(e) => setValue(e.target.value)}
      />
      <span className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save new version
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </span>
    </form>
  );
}
