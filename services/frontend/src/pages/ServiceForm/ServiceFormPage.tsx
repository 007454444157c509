/** Create a Service, or apply a new revision of an existing one. */
import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useApi } from "../../api/context";
import { ApiError, describeError } from "../../api/problem";
import { TIERS } from "../../api/types";
import type { Tier } from "../../api/types";
import { FormErrors, TextField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { ErrorBanner, Loading } from "../../components/States";
import { validateService } from "../../validation/specs";
import type { FieldErrors } from "../../validation/specs";
import { ContainerFields } from "./ContainerFields";
import { ModelFields } from "./ModelFields";
import { emptyForm, fromSpec, toSpec, unplacedErrors } from "./serviceForm";
import type { ServiceFormState } from "./serviceForm";

const TIER_HELP: Record<Tier, string> = {
  inference: "A model served by the engine, reachable through /v1",
  cpu: "A container on CPU nodes",
  gpu: "A container with GPUs",
};

export function ServiceFormPage({ mode }: { mode: "create" | "edit" }) {
  const { slug = "", name = "" } = useParams();
  const api = useApi();
  const navigate = useNavigate();
  const [form, setForm] = useState<ServiceFormState>(emptyForm);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(mode === "edit");
  const [busy, setBusy] = useState(false);
  const base = `/projects/${encodeURIComponent(slug)}`;

  useEffect(() => {
    if (mode !== "edit") return;
    let cancelled = false;
    api.getService(slug, name).then(
      (s) => {
        if (cancelled) return;
        setForm(fromSpec(s.spec));
        setLoading(false);
      },
      (err: unknown) => {
        if (cancelled) return;
        setLoadError(err);
        setLoading(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, mode, slug, name]);

  const set = (patch: Partial<ServiceFormState>) => setForm((f) => ({ ...f, ...patch }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const { spec, errors: parseErrors } = toSpec(form);
    const local = { ...validateService(spec), ...parseErrors };
    setErrors(local);
    if (Object.keys(local).length > 0) {
      focusFirstError();
      return;
    }
    setBusy(true);
    try {
      if (mode === "create") await api.createService(slug, spec);
      else await api.applyService(slug, spec);
      navigate(`${base}/services/${encodeURIComponent(spec.name)}`);
    } catch (err) {
      if (err instanceof ApiError && err.problem.errors.length > 0) {
        setErrors(err.fieldErrors);
        setFailure(err.problem.detail ?? err.problem.title);
        focusFirstError();
      } else {
        setFailure(describeError(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const title = mode === "create" ? "New service" : `Edit ${name}`;
  const crumbs = (
    <>
      <Link to="/">Projects</Link> / <Link to={base}>{slug}</Link>
      {mode === "edit" && (
        <>
          {" "}
          / <Link to={`${base}/services/${encodeURIComponent(name)}`}>{name}</Link>
        </>
      )}
    </>
  );

  if (loading) return <Loading what="the service" />;
  if (loadError !== undefined) return <ErrorBanner error={loadError} />;

  return (
    <>
      <PageHeader title={title} crumbs={crumbs} />
      <form className="card form-card service-form" onSubmit={(e) => void submit(e)} noValidate aria-label={title}>
        {failure && (
          <div className="state state-error" role="alert">
            {failure}
          </div>
        )}
        <FormErrors errors={unplacedErrors(errors, form)} />
        <div className="row">
          <TextField
            label="Service name"
            name="name"
            value={form.name}
            readOnly={mode === "edit"}
            error={errors.name}
            hint="Lowercase letters, digits and '-'; part of the service's URL."
            onChange={(e) => set({ name: e.target.value })}
          />
        </div>
        <fieldset className="tiers" aria-describedby={errors.tier ? "tier-error" : undefined}>
          <legend>Tier</legend>
          {TIERS.map((t) => (
            <label key={t} className={`tier-option${form.tier === t ? " selected" : ""}`}>
              <input type="radio" name="tier" value={t} checked={form.tier === t} onChange={() => set({ tier: t })} />
              <span className="strong">{t}</span>
              <span className="muted small">{TIER_HELP[t]}</span>
            </label>
          ))}
          {errors.tier && (
            <div className="field-error" id="tier-error" role="alert">
              {errors.tier}
            </div>
          )}
        </fieldset>
        {form.tier === "inference" ? (
          <ModelFields form={form} errors={errors} set={set} />
        ) : (
          <ContainerFields form={form} errors={errors} set={set} />
        )}
        <label className="check">
          <input type="checkbox" name="expose" checked={form.expose} onChange={(e) => set({ expose: e.target.checked })} />
          Expose at a public URL (an Ingress with a certificate)
        </label>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Deploying…" : mode === "create" ? "Deploy service" : "Apply new revision"}
          </button>
          <Link className="btn" to={mode === "create" ? base : `${base}/services/${encodeURIComponent(name)}`}>
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

function focusFirstError() {
  // After React renders the messages, move focus to the first invalid input.
  setTimeout(() => {
    const el = document.querySelector<HTMLElement>("[aria-invalid='true'], .field-invalid input");
    el?.focus();
  }, 0);
}
