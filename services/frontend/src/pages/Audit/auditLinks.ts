/** Where the diff view lives, as a link from the Events page and from a service's revisions. */
export function diffHref(query: { from: string; to?: string | undefined; project?: string | null | undefined }): string {
  const params = new URLSearchParams({ from: query.from });
  if (query.to) params.set("to", query.to);
  if (query.project) params.set("project", query.project);
  return `/audit/diff?${params.toString()}`;
}

/** A value of a field change as text: JSON, or "—" when the field is absent on that side. */
export function showValue(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** A `datetime-local` value (the viewer's zone) as an RFC 3339 time with its offset. */
export function localToRfc3339(local: string): string {
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}
