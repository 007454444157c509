import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Call } from "../../test/fakes";
import { renderConsole } from "../../test/render";

const project = { slug: "default", name: "Default", version: 1, serviceCount: 3, readyCount: 1, deployingCount: 1, failedCount: 1, createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z" };
const svc = (name: string, phase: string, tier = "cpu") => ({ projectSlug: "default", name, spec: { name, tier, kind: { container: { image: "nginx" } } }, revision: 1, status: { phase }, url: null, domains: [] });
const all = [svc("api", "Ready"), svc("batch", "Failed", "gpu"), svc("web", "Deploying")];

/** lcd's filters, as the fake API applies them. */
function servicesApi(call: Call) {
  const url = new URL(call.url, "http://console.test");
  const q = url.searchParams.get("q") ?? "";
  const phases = url.searchParams.getAll("phase");
  const tiers = url.searchParams.getAll("tier");
  const items = all.filter(
    (s) => s.name.includes(q) && (phases.length === 0 || phases.includes(s.status.phase)) && (tiers.length === 0 || tiers.includes(s.spec.tier)),
  );
  return { body: { items, next: null } };
}

const routes = { "GET /api/v1/projects/default": { body: project }, "GET /api/v1/projects/default/services": servicesApi };
const rows = () => [...document.querySelectorAll("tbody tr")].map((r) => r.getAttribute("data-service"));
const lastList = (calls: Call[]) => calls.filter((c) => c.url.startsWith("/api/v1/projects/default/services")).at(-1)!.url;

describe("ServicesPage filters", () => {
  it("filters by phase and tier through lcd and says when nothing matches", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default", routes);
    await waitFor(() => expect(rows()).toEqual(["api", "batch", "web"]));
    await user.click(screen.getByRole("checkbox", { name: "Ready" }));
    await waitFor(() => expect(rows()).toEqual(["api"]));
    expect(lastList(calls)).toBe("/api/v1/projects/default/services?phase=Ready&limit=100");
    await user.click(screen.getByRole("checkbox", { name: "Failed" }));
    await waitFor(() => expect(rows()).toEqual(["api", "batch"]));
    await user.click(screen.getByRole("checkbox", { name: "cpu" }));
    await waitFor(() => expect(rows()).toEqual(["api"]));
    expect(lastList(calls)).toBe("/api/v1/projects/default/services?phase=Ready&phase=Failed&tier=cpu&limit=100");
    await user.type(screen.getByRole("searchbox", { name: "Search services" }), "zzz");
    expect(await screen.findByText("No service matches these filters.")).toBeInTheDocument();
  });

  it("opens with the filters of a shared link", async () => {
    const { calls } = renderConsole("/projects/default?phase=Failed&q=ba&phase=Bogus", routes);
    await waitFor(() => expect(rows()).toEqual(["batch"]));
    expect(screen.getByRole("checkbox", { name: "Failed" })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "Ready" })).not.toBeChecked();
    expect(screen.getByRole("searchbox", { name: "Search services" })).toHaveValue("ba");
    expect(lastList(calls)).toBe("/api/v1/projects/default/services?q=ba&phase=Failed&limit=100");
  });
});
