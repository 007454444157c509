/** Loading, empty and error states, the same on every page. */
import type { ReactNode } from "react";
import { describeError } from "../api/problem";

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

export function ErrorBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <span>{describeError(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function LiveIndicator({ state }: { state: "connecting" | "live" | "down" }) {
  const label = state === "live" ? "Live" : state === "connecting" ? "Connecting…" : "Polling";
  return (
    <span className={`live live-${state}`} title={state === "down" ? "Live updates unavailable; refreshing periodically" : undefined}>
      <span className="live-dot" aria-hidden="true" /> {label}
    </span>
  );
}
