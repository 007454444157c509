/**
 * Webhook subscriptions: create one (its signing secret is shown once, then only its
 * existence), pause and resume, rotate the secret, send a test event, replay from a
 * sequence, delete, and read each subscription's deliveries with their status.
 */
import { useState } from "react";
import type { FormEvent } from "react";
import { useApi, useRefetchOn } from "../../api/context";
import { describeError, formErrorsOf } from "../../api/problem";
import type { Webhook, WebhookDelivery } from "../../api/types";
import { ConfirmButton } from "../../components/ConfirmButton";
import { FormErrors, TextField } from "../../components/Field";
import { PageHeader } from "../../components/Layout";
import { ErrorBanner, LiveIndicator, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { useQuery } from "../../lib/useQuery";

export function WebhooksPage() {
  const api = useApi();
  const query = useQuery<Webhook[]>(() => api.listWebhooks(), [api]);
  const live = useRefetchOn(["webhook."], query.refetch);
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string[]>([]);

  const act = async (action: () => Promise<unknown>) => {
    setActionError([]);
    try {
      await action();
    } catch (err) {
      setActionError([describeError(err)]);
    }
    query.refetch();
  };

  return (
    <>
      <PageHeader title="Webhooks">
        <LiveIndicator state={live} />
      </PageHeader>
      <p className="lead">
        Deliveries follow Standard Webhooks: verify the <code className="mono">webhook-signature</code> with the secret, and
        skip a <code className="mono">webhook-id</code> you have already handled.
      </p>
      {secret && <SecretOnce {...secret} onDismiss={() => setSecret(null)} />}
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="webhooks" />}
      <FormErrors errors={actionError} />
      {query.data && query.data.length === 0 && <p className="muted">No webhooks yet.</p>}
      {query.data && query.data.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Webhooks">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {query.data.map((w) => (
                <tr key={w.id} data-webhook={w.id}>
                  <td data-label="URL" className="mono">
                    {w.url}
                    {w.projectSlug ? <span className="muted small"> ({w.projectSlug})</span> : null}
                  </td>
                  <td data-label="Events">{w.eventTypes.join(", ")}</td>
                  <td data-label="Status">
                    <StatusBadge value={w.status} title={w.pauseDetail ?? undefined} />
                    {w.pauseReason ? <span className="muted small"> {w.pauseReason}</span> : null}
                  </td>
                  <td data-label="Actions">
                    <span className="actions">
                      {w.status === "active" ? (
                        <button type="button" className="btn" onClick={() => void act(() => api.pauseWebhook(w.id))}>
                          Pause
                        </button>
                      ) : (
                        <button type="button" className="btn" onClick={() => void act(() => api.resumeWebhook(w.id))}>
                          Resume
                        </button>
                      )}
                      <button type="button" className="btn" onClick={() => void act(() => api.testWebhook(w.id))}>
                        Send test
                      </button>
                      <button
                        type="button"
                        className="btn"
                        onClick={() =>
                          void act(async () => {
                            const rotated = await api.rotateWebhookSecret(w.id);
                            setSecret({ id: w.id, secret: rotated.secret });
                          })
                        }
                      >
                        Rotate secret
                      </button>
                      <button type="button" className="btn" onClick={() => setOpen(open === w.id ? null : w.id)}>
                        {open === w.id ? "Hide deliveries" : "Deliveries"}
                      </button>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel={`Delete ${w.url}`}
                        question={`Delete the webhook to ${w.url}? Nothing more is delivered to it.`}
                        onConfirm={() => void act(() => api.deleteWebhook(w.id))}
                      />
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <Deliveries id={open} />}
      <CreateWebhookForm
        onCreated={(id, s) => {
          setSecret({ id, secret: s });
          query.refetch();
        }}
      />
    </>
  );
}

function SecretOnce({ id, secret, onDismiss }: { id: string; secret: string; onDismiss: () => void }) {
  return (
    <section className="card" role="status" aria-label="Signing secret">
      <p>
        The signing secret of webhook <span className="mono">{id}</span>. Copy it now: it is not shown again.
      </p>
      <pre className="mono">{secret}</pre>
      <button type="button" className="btn" onClick={onDismiss}>
        I have copied it
      </button>
    </section>
  );
}

function Deliveries({ id }: { id: string }) {
  const api = useApi();
  const query = useQuery<WebhookDelivery[]>(() => api.webhookDeliveries(id), [api, id]);
  const [from, setFrom] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [replayed, setReplayed] = useState(false);

  const replay = async (e: FormEvent) => {
    e.preventDefault();
    const seq = Number(from);
    if (!Number.isInteger(seq) || seq < 1) {
      setError("a stream sequence: a whole number from 1");
      return;
    }
    setError(undefined);
    try {
      await api.replayWebhook(id, { fromSequence: seq });
      setReplayed(true);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section className="card" aria-label="Deliveries">
      <h2>Deliveries</h2>
      {query.error !== undefined && <ErrorBanner error={query.error} onRetry={query.refetch} />}
      {query.loading && <Loading what="deliveries" />}
      {query.data && query.data.length === 0 && <p className="muted">Nothing delivered yet.</p>}
      {query.data && query.data.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Delivery attempts">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Attempt</th>
                <th scope="col">Outcome</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {query.data.map((d) => (
                <tr key={d.id}>
                  <td data-label="Event">
                    <span className="mono">#{d.eventSeq}</span> {d.eventType}
                  </td>
                  <td data-label="Attempt">{d.attempt}</td>
                  <td data-label="Outcome">
                    <StatusBadge value={d.outcome} />
                  </td>
                  <td data-label="Status">{d.statusCode ?? "—"}</td>
                  <td data-label="Latency">{d.latencyMs != null ? `${Math.round(d.latencyMs)} ms` : "—"}</td>
                  <td data-label="Error">
                    {d.error ?? ""}
                    {d.nextAttemptAt ? <span className="muted small"> next {new Date(d.nextAttemptAt).toLocaleString()}</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="inline-form" onSubmit={(e) => void replay(e)} aria-label="Replay" noValidate>
        <TextField label="Replay from sequence" name="replay-from" inputMode="numeric" value={from} error={error} onChange={(e) => setFrom(e.target.value)} />
        <button type="submit" className="btn">
          Replay
        </button>
        {replayed && <span className="muted small">Replay requested.</span>}
      </form>
    </section>
  );
}

function CreateWebhookForm({ onCreated }: { onCreated: (id: string, secret: string) => void }) {
  const api = useApi();
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState("service.*");
  const [project, setProject] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const eventTypes = types
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    const local: Record<string, string> = {};
    if (!/^https?:\/\//.test(url)) local.url = "an https:// URL";
    if (eventTypes.length === 0) local.eventTypes = "at least one event type, a family like service.*, or *";
    setErrors(local);
    setFormError([]);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      const created = await api.createWebhook({ url, eventTypes, ...(project ? { projectSlug: project } : {}) });
      setUrl("");
      onCreated(created.id, created.secret);
    } catch (err) {
      const found = formErrorsOf(err);
      setErrors(found.fields);
      setFormError(found.form);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="New webhook" noValidate>
      <FormErrors errors={formError} />
      <div className="row">
        <TextField label="URL" name="webhook-url" value={url} error={errors.url} onChange={(e) => setUrl(e.target.value)} />
        <TextField
          label="Event types"
          name="webhook-types"
          hint="comma-separated: service.*, domain.verified, or *"
          value={types}
          error={errors.eventTypes}
          onChange={(e) => setTypes(e.target.value)}
        />
        <TextField label="Project (optional)" name="webhook-project" value={project} error={errors.projectSlug} onChange={(e) => setProject(e.target.value)} />
      </div>
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Add webhook"}
        </button>
      </div>
    </form>
  );
}
