/**
 * What the Batches page shows of one batch, computed from the batch object alone: the
 * progress bar's shares, the rate since it started and the time left at that rate.
 */
import type { Batch, BatchStatus } from "./batchesClient";

export interface Progress {
  done: number;
  total: number;
  /** Percent of the total, each share rounded down so they never add up past 100. */
  completedPct: number;
  failedPct: number;
  /** Requests answered per second since the batch went in progress; null before. */
  ratePerS: number | null;
  /** Seconds until every request is answered at that rate; null when unknown or ended. */
  etaS: number | null;
}

const ENDED: ReadonlySet<BatchStatus> = new Set(["completed", "failed", "expired", "cancelled"]);

export function isEnded(status: BatchStatus): boolean {
  return ENDED.has(status);
}

export function canCancel(status: BatchStatus): boolean {
  return status === "validating" || status === "in_progress";
}

export function progressOf(batch: Batch, nowS: number): Progress {
  const { total, completed, failed } = batch.request_counts;
  const done = completed + failed;
  const pct = (n: number) => (total > 0 ? Math.floor((n / total) * 100) : 0);
  const started = batch.in_progress_at;
  const until = batch.completed_at ?? nowS;
  const elapsed = started !== null ? until - started : 0;
  const ratePerS = started !== null && elapsed > 0 && done > 0 ? done / elapsed : null;
  const left = total - done;
  const etaS = !isEnded(batch.status) && ratePerS !== null && left > 0 ? left / ratePerS : null;
  return { done, total, completedPct: pct(completed), failedPct: pct(failed), ratePerS, etaS };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function statusTone(status: BatchStatus): "ok" | "warn" | "bad" | "wait" {
  if (status === "completed") return "ok";
  if (status === "failed" || status === "expired") return "bad";
  if (status === "cancelled" || status === "cancelling") return "warn";
  return "wait";
}
