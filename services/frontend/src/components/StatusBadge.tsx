/** A coloured pill for a Service phase, a GPU's health or a domain's status. */

const TONES: Record<string, string> = {
  ready: "ok",
  healthy: "ok",
  verified: "ok",
  deploying: "busy",
  loading: "busy",
  verifying: "busy",
  pending: "wait",
  degraded: "warn",
  failed: "bad",
  unhealthy: "bad",
  deleted: "muted",
  unknown: "muted",
};

export function toneOf(value: string | null | undefined): string {
  return TONES[(value ?? "unknown").toLowerCase()] ?? "muted";
}

export function StatusBadge({ value, title }: { value: string | null | undefined; title?: string }) {
  const text = value || "Unknown";
  return (
    <span className={`badge badge-${toneOf(value)}`} title={title} data-status={text}>
      {text}
    </span>
  );
}
