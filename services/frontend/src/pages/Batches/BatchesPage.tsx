/**
 * The Batches page: every batch of the OpenAI Batch API on lc-proxy, with a progress bar
 * (completed / failed / total), its rate and time left, downloads of its output and
 * error files, and cancel. Refreshes every few seconds.
 */
import { useMemo, useState } from "react";
import { PageHeader } from "../../components/Layout";
import { ConfirmButton } from "../../components/ConfirmButton";
import { Empty, ErrorBanner, Loading } from "../../components/States";
import { useQuery } from "../../lib/useQuery";
import type { FetchLike } from "../../api/client";
import { BatchesClient, ProxyError } from "./batchesClient";
import type { Batch } from "./batchesClient";
import { canCancel, formatDuration, progressOf, statusTone } from "./batchesState";

const EVERY_MS = 3000;
const KEY_STORAGE = "lc.batches.apiKey";

function storedKey(): string {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function BatchesPage({ fetchImpl }: { fetchImpl?: FetchLike }) {
  const [apiKey, setApiKey] = useState(storedKey);
  const [draftKey, setDraftKey] = useState("");
  const [actionError, setActionError] = useState<unknown>(undefined);
  const client = useMemo(() => new BatchesClient(apiKey, fetchImpl), [apiKey, fetchImpl]);
  const batches = useQuery(() => client.list(), [client], { intervalMs: EVERY_MS });
  const needsKey = batches.error instanceof ProxyError && batches.error.status === 401;

  const useKey = (key: string) => {
    try {
      sessionStorage.setItem(KEY_STORAGE, key);
    } catch {
      // private mode: keep it for this page only
    }
    setApiKey(key);
  };

  const cancel = async (id: string) => {
    try {
      await client.cancel(id);
      setActionError(undefined);
      batches.refetch();
    } catch (err) {
      setActionError(err);
    }
  };

  const download = async (fileId: string, name: string) => {
    try {
      const blob = await client.content(fileId);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      link.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <>
      <PageHeader title="Batches" />
      <p className="lead">
        Batches of the OpenAI Batch API (<span className="mono">/v1/batches</span>): requests sent on the capacity interactive
        traffic leaves idle, answered once each, kept across proxy restarts.
      </p>
      {needsKey && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            useKey(draftKey.trim());
          }}
        >
          <label>
            API key <span className="muted">(batches belong to the key that created them)</span>
            <input type="password" value={draftKey} onChange={(e) => setDraftKey(e.target.value)} autoComplete="off" />
          </label>
          <button type="submit" className="btn btn-small">
            Show its batches
          </button>
        </form>
      )}
      {batches.error !== undefined && !needsKey && <ErrorBanner error={batches.error} onRetry={batches.refetch} />}
      {actionError !== undefined && <ErrorBanner error={actionError} />}
      {batches.loading && <Loading what="batches" />}
      {batches.data !== undefined && batches.data.length === 0 && (
        <Empty title="No batches yet.">
          <p>
            Upload a JSONL file to <span className="mono">/v1/files</span> with <span className="mono">purpose=batch</span>, then
            create a batch from it with any OpenAI SDK.
          </p>
        </Empty>
      )}
      {batches.data !== undefined && batches.data.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Batches">
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Rate</th>
                <th scope="col">Files</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {batches.data.map((batch) => (
                <BatchRow key={batch.id} batch={batch} onCancel={cancel} onDownload={download} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function BatchRow({
  batch,
  onCancel,
  onDownload,
}: {
  batch: Batch;
  onCancel: (id: string) => Promise<void>;
  onDownload: (fileId: string, name: string) => Promise<void>;
}) {
  const p = progressOf(batch, Date.now() / 1000);
  const firstError = batch.errors?.data[0];
  return (
    <tr>
      <td data-label="Batch">
        <div className="mono">{batch.id}</div>
        <div className="muted">{batch.endpoint}</div>
      </td>
      <td data-label="Status">
        <span className={`badge badge-${statusTone(batch.status)}`} data-status={batch.status}>
          {batch.status.replace("_", " ")}
        </span>
        {firstError && (
          <div className="muted" title={firstError.message}>
            {firstError.code}
            {firstError.line !== null ? ` (line ${firstError.line})` : ""}
          </div>
        )}
      </td>
      <td data-label="Progress">
        <div className="membar">
          <div
            className="membar-track"
            role="progressbar"
            aria-label={`Progress of ${batch.id}`}
            aria-valuemin={0}
            aria-valuemax={p.total}
            aria-valuenow={p.done}
            aria-valuetext={`${batch.request_counts.completed} completed, ${batch.request_counts.failed} failed of ${p.total}`}
          >
            <div className="membar-fill membar-ok" style={{ width: `${p.completedPct}%`, float: "left" }} />
            <div className="membar-fill membar-bad" style={{ width: `${p.failedPct}%`, float: "left" }} />
          </div>
          <span className="membar-text">
            {batch.request_counts.completed} ✓ · {batch.request_counts.failed} ✗ / {p.total}
          </span>
        </div>
      </td>
      <td data-label="Rate">
        {p.ratePerS !== null ? `${p.ratePerS.toFixed(1)} req/s` : "—"}
        {p.etaS !== null && <div className="muted">{formatDuration(p.etaS)} left</div>}
      </td>
      <td data-label="Files">
        {batch.output_file_id && (
          <button type="button" className="btn btn-small btn-ghost" onClick={() => void onDownload(batch.output_file_id!, `${batch.id}_output.jsonl`)}>
            Output
          </button>
        )}
        {batch.error_file_id && (
          <button type="button" className="btn btn-small btn-ghost" onClick={() => void onDownload(batch.error_file_id!, `${batch.id}_errors.jsonl`)}>
            Errors
          </button>
        )}
      </td>
      <td data-label="Actions">
        {canCancel(batch.status) && (
          <ConfirmButton label="Cancel" confirmLabel="Cancel batch" question={`Cancel ${batch.id}?`} onConfirm={() => void onCancel(batch.id)} />
        )}
      </td>
    </tr>
  );
}
