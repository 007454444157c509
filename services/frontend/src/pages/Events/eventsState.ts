/** The audit log's list: merged from pages and the live tail, newest first, without duplicates. */
import type { AuditEvent } from "../../api/types";

export const KEEP = 1000;

export function keyOf(e: AuditEvent): string {
  return e.id ?? String(e.seq);
}

/** `incoming` merged into `current`, newest (highest sequence) first, capped at `keep`. */
export function mergeEvents(current: readonly AuditEvent[], incoming: readonly AuditEvent[], keep = KEEP): AuditEvent[] {
  const seen = new Map<string, AuditEvent>();
  for (const e of [...current, ...incoming]) seen.set(keyOf(e), e);
  return [...seen.values()]
    .sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0) || b.time.localeCompare(a.time))
    .slice(0, keep);
}

/** Which project an event concerns, from its data or its subject. */
export function projectOf(e: AuditEvent): string | null {
  const d = e.data ?? {};
  for (const k of ["projectSlug", "project"]) {
    const v = (d as Record<string, unknown>)[k];
    if (typeof v === "string") return v;
  }
  if (e.type.startsWith("project.") && typeof (d as Record<string, unknown>).slug === "string") {
    return (d as Record<string, string>).slug ?? null;
  }
  const subject = typeof e.subject === "string" ? e.subject : "";
  const m = /^(?:lc\.events\.)?(?:project|service)[./]([^./]+)/.exec(subject);
  return m?.[1] ?? null;
}

export function matches(e: AuditEvent, filter: { type: string; project: string; actor?: string }): boolean {
  if (filter.type && !filter.type.split(",").includes(e.type)) return false;
  if (filter.project && projectOf(e) !== filter.project) return false;
  if (filter.actor && e.actor !== filter.actor) return false;
  return true;
}

/** A one-line description of what happened. */
export function describeEvent(e: AuditEvent): string {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const s = (k: string) => (typeof d[k] === "string" || typeof d[k] === "number" ? String(d[k]) : "");
  const spec = (d.spec ?? {}) as Record<string, unknown>;
  switch (e.type) {
    case "project.created":
    case "project.updated":
      return `${s("slug")} — “${s("name")}”`;
    case "project.deleted":
      return s("slug");
    case "service.applied":
      return `${s("projectSlug")}/${String(spec.name ?? "")} revision ${s("revision")}${d.rollbackOf ? ` (rollback to ${s("rollbackOf")})` : ""}`;
    case "service.deleted":
      return `${s("projectSlug")}/${s("name")}`;
    case "service.status_changed":
      return `${s("projectSlug")}/${s("name")}: ${s("previousPhase") || "—"} → ${s("phase")}${s("message") ? ` — ${s("message")}` : ""}`;
    case "gpu.health_changed":
      return `${s("node")} GPU ${s("index") || s("uuid")} (${s("product")}): ${s("previous") || "—"} → ${s("current")}`;
    default:
      if (e.type.startsWith("domain.")) {
        const reason = s("reason") ? ` — ${s("reason")}${d.final ? " (final)" : s("attempt") ? ` (attempt ${s("attempt")})` : ""}` : "";
        return `${s("fqdn") || s("id")}${s("serviceName") ? ` → ${s("projectSlug")}/${s("serviceName")}` : ""}${reason}`;
      }
      return e.subject ?? "";
  }
}
