import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Call } from "../../test/fakes";
import { renderConsole } from "../../test/render";

const ev = (seq: number, actor: string) => ({
  seq,
  id: `e${seq}`,
  type: "project.created",
  time: new Date(1700000000000 + seq * 1000).toISOString(),
  subject: `project/p${seq}`,
  actor,
  correlationid: `c${seq}`,
  data: { slug: `p${seq}`, name: `P${seq}` },
});
/** 150 events; lcd pages them newest first and filters by actor. */
function eventsApi(call: Call) {
  const url = new URL(call.url, "http://console.test");
  const actor = url.searchParams.get("actor");
  const after = Number(url.searchParams.get("after") ?? 0);
  const limit = Number(url.searchParams.get("limit") ?? 100);
  const all = Array.from({ length: 150 }, (_, i) => ev(150 - i, i % 2 ? "admin" : "lc-reconciler"))
    .filter((e) => !actor || e.actor === actor)
    .filter((e) => !after || e.seq < after);
  const items = all.slice(0, limit);
  return { body: { items, next: all.length > limit ? String(items[items.length - 1]!.seq) : null } };
}
const seqs = () => [...document.querySelectorAll("tbody tr[data-seq]")].map((r) => Number(r.getAttribute("data-seq")));
const eventCalls = (calls: Call[]) => calls.filter((c) => c.url.startsWith("/api/v1/events?")).map((c) => c.url);

describe("EventsPage", { timeout: 30000 }, () => {
  it("shows the newest first and pages back to the oldest", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/events", { "GET /api/v1/events": eventsApi });
    await waitFor(() => expect(seqs()).toHaveLength(100), { timeout: 10000 });
    expect(seqs()[0]).toBe(150);
    expect(eventCalls(calls)).toEqual(["/api/v1/events?limit=100&order=desc"]);
    await user.click(screen.getByRole("button", { name: "Show more events" }));
    await waitFor(() => expect(seqs()).toHaveLength(150), { timeout: 10000 });
    expect(seqs().at(-1)).toBe(1);
    expect(eventCalls(calls).at(-1)).toBe("/api/v1/events?after=51&limit=100&order=desc");
  });

  it("filters by actor from a shared link and opens an event", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/events?actor=admin", { "GET /api/v1/events": eventsApi });
    await waitFor(() => expect(seqs()).toHaveLength(75), { timeout: 10000 });
    expect(eventCalls(calls)[0]).toBe("/api/v1/events?limit=100&actor=admin&order=desc");
    expect(screen.getByRole("searchbox", { name: "Actor" })).toHaveValue("admin");
    const open = screen.getByRole("button", { name: "Event 149, project.created: show details" });
    await user.click(open);
    expect(open).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByLabelText("Data of event 149")).toHaveTextContent('"slug": "p149"');
    expect(screen.getByText("c149")).toBeInTheDocument();
  });
});
