import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../test/render";

const diff = {
  from: { seq: 7, time: "2026-11-30T02:00:00Z" },
  to: { seq: 9, time: "2026-11-30T03:00:00Z" },
  changes: [
    {
      kind: "service",
      projectSlug: "default",
      key: "hello",
      change: "changed",
      fields: [
        { pointer: "/spec/kind/container/replicas", old: 1, new: 2 },
        { pointer: "/revision", old: 1, new: 2 },
      ],
      events: [{ seq: 8, id: "e8", type: "service.applied", time: "2026-11-30T02:30:00Z", actor: "admin", correlationId: "c8" }],
    },
    { kind: "domain", projectSlug: "default", key: "d1", change: "created", fields: [{ pointer: "/fqdn", new: "chat.acme.test" }], events: [] },
  ],
};

describe("audit views", () => {
  it("shows each changed field's old and new value side by side, with the events that did it", async () => {
    const { calls } = renderConsole("/audit/diff?from=7&to=9&project=default", { "GET /api/v1/audit/diff": { body: diff } });
    const table = await screen.findByRole("table", { name: "Field changes of service hello" });
    const row = within(table).getByRole("row", { name: /replicas/ });
    expect(within(row).getAllByRole("cell").map((c) => c.textContent)).toEqual(["1", "2"]);
    expect(screen.getByText(/service.applied \(admin/)).toBeInTheDocument();
    const created = screen.getByRole("table", { name: "Field changes of domain d1" });
    expect(within(created).getAllByRole("cell").map((c) => c.textContent)).toEqual(["—", "chat.acme.test"]);
    expect(calls.find((c) => c.url.startsWith("/api/v1/audit/diff"))!.url).toBe("/api/v1/audit/diff?from=7&to=9&project=default");
  });

  it("shows lcd's answer when a moment is wrong", async () => {
    renderConsole("/audit/diff?from=yesterday", {
      "GET /api/v1/audit/diff": { status: 400, body: { type: "x/bad-request", title: "Bad request", status: 400, detail: "from must be a sequence or an RFC 3339 time", errors: [] } },
    });
    expect(await screen.findByText(/from must be a sequence or an RFC 3339 time/)).toBeInTheDocument();
  });

  it("shows a project as it was at the picked moment, read-only", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default/as-of", {
      "GET /api/v1/projects/default/state": {
        body: {
          asOf: { seq: 5, time: "2026-11-30T03:00:00Z" },
          slug: "default",
          name: "Default",
          services: [{ name: "hello", tier: "cpu", spec: { name: "hello" }, revision: 1, phase: "Ready" }],
          domains: [{ id: "d1", fqdn: "chat.acme.test", serviceName: "hello", status: "verified" }],
        },
      },
    });
    const input = await screen.findByLabelText("As of");
    await user.type(input, "2026-11-30T03:00:00");
    await user.click(screen.getByRole("button", { name: "Show" }));
    const table = await screen.findByRole("table", { name: "Services then" });
    expect(within(table).getByRole("rowheader", { name: "hello" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("as of event #5");
    expect(screen.queryByRole("button", { name: /Delete|Roll back|Apply/ })).toBeNull();
    await waitFor(() => expect(calls.some((c) => c.url.startsWith("/api/v1/projects/default/state?at="))).toBe(true));
    const at = new URL(calls.find((c) => c.url.includes("/state?"))!.url, "http://x").searchParams.get("at")!;
    expect(new Date(at).getTime()).toBe(new Date("2026-11-30T03:00:00").getTime());
  });
});
