import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Call } from "../../test/fakes";
import { renderConsole } from "../../test/render";

const team = (i: number) => ({
  slug: `team-${i}`,
  name: `Team ${i}`,
  version: 1,
  serviceCount: 3,
  readyCount: 1,
  deployingCount: 1,
  failedCount: 1,
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => team(from + k));

/** A projects endpoint over 130 projects, paging like lcd (`after` = last slug) and searching names. */
function projectsApi(call: Call) {
  const url = new URL(call.url, "http://console.test");
  const q = (url.searchParams.get("q") ?? "").toLowerCase();
  const limit = Number(url.searchParams.get("limit") ?? 100);
  const after = url.searchParams.get("after");
  const all = range(0, 130).filter((p) => p.name.toLowerCase().includes(q));
  const start = after ? all.findIndex((p) => p.slug === after) + 1 : 0;
  const items = all.slice(start, start + limit);
  return { body: { items, next: start + limit < all.length ? items[items.length - 1]!.slug : null } };
}

const cards = () => document.querySelectorAll("article.project-card");
// Generous waits: a hundred cards render slowly in jsdom on a busy machine.
const slow = { timeout: 10000 };
const card = async (name: string) => (await screen.findByText(name, { selector: "h2 a" }, slow)).closest("article") as HTMLElement;

const projectCalls = (calls: Call[]) => calls.filter((c) => c.method === "GET" && c.url.startsWith("/api/v1/projects"));

describe("Projects board at scale", { timeout: 30000 }, () => {
  it("reads counts from one page request, not one request per card, and pages on", async () => {
    const { calls } = renderConsole("/", { "GET /api/v1/projects": projectsApi });
    const first = await card("Team 0");
    expect(within(first).getByTestId("service-count")).toHaveTextContent("3");
    expect(within(first).getByText("Failed", { selector: ".badge" })).toBeInTheDocument();
    expect(cards()).toHaveLength(100);
    expect(projectCalls(calls).map((c) => c.url)).toEqual(["/api/v1/projects?sort=name&limit=100"]);
    expect(screen.getByText("Showing 100 projects; more available.")).toHaveAttribute("role", "status");

    fireEvent.click(screen.getByText("Show more projects"));
    expect(await card("Team 129")).toBeInTheDocument();
    expect(projectCalls(calls).at(-1)!.url).toBe("/api/v1/projects?sort=name&after=team-99&limit=100");
    expect(cards()).toHaveLength(130);
    expect(screen.queryByRole("button", { name: "Show more projects" })).toBeNull();
    expect(screen.getByText("Showing 130 projects.")).toBeInTheDocument();
  });

  it("searches as the user types, asking lcd, and says when nothing matches", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/", { "GET /api/v1/projects": projectsApi });
    await card("Team 0");
    await user.type(screen.getByRole("searchbox", { name: "Search projects" }), "team 12");
    await waitFor(() => expect(cards()).toHaveLength(11), slow);
    expect(await card("Team 129")).toBeInTheDocument();
    expect(projectCalls(calls).at(-1)!.url).toBe("/api/v1/projects?q=team+12&sort=name&limit=100");
    await user.clear(screen.getByRole("searchbox", { name: "Search projects" }));
    await user.type(screen.getByRole("searchbox", { name: "Search projects" }), "nobody");
    expect(await screen.findByText("No project matches “nobody”.", {}, slow)).toBeInTheDocument();
  });

  it("opens with the search and sort of a shared link and sorts as picked", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/?q=Team%20129&sort=updated", { "GET /api/v1/projects": projectsApi });
    expect(await card("Team 129")).toBeInTheDocument();
    expect(screen.getByRole("searchbox", { name: "Search projects" })).toHaveValue("Team 129");
    expect(projectCalls(calls)[0]!.url).toBe("/api/v1/projects?q=Team+129&sort=updated&limit=100");
    await user.selectOptions(screen.getByLabelText("Sort by"), "Slug");
    await waitFor(() => expect(projectCalls(calls).at(-1)!.url).toBe("/api/v1/projects?q=Team+129&sort=slug&limit=100"));
  });
});
