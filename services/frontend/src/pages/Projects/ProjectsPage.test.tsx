import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../test/render";

const project = { slug: "default", name: "Default", version: 1, serviceCount: 2, readyCount: 1, deployingCount: 0, failedCount: 1, createdAt: "2024-01-01T00:00:00Z", updatedAt: "2024-01-01T00:00:00Z" };

describe("ProjectsPage", () => {
  it("invites to create the first project", async () => {
    renderConsole("/", { "GET /api/v1/projects": { body: { items: [] } } });
    expect(await screen.findByText("No projects yet.")).toBeInTheDocument();
  });

  it("shows service counts and health per project", async () => {
    renderConsole("/", {
      "GET /api/v1/projects": { body: { items: [project] } },
    });
    const card = await screen.findByRole("article", { name: "Default" });
    await waitFor(() => expect(within(card).getByTestId("service-count")).toHaveTextContent("2"));
    expect(within(card).getByText("Failed", { selector: ".badge" })).toBeInTheDocument();
  });

  it("derives the slug from the name and shows the API's field error", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/", {
      "GET /api/v1/projects": { body: { items: [] } },
      "POST /api/v1/projects": {
        status: 409,
        body: { type: "x/already-exists", title: "Already exists", status: 409, detail: "project 'my-team' already exists", errors: [{ pointer: "/slug", detail: "is taken" }] },
      },
    });
    await user.click(await screen.findByRole("button", { name: "New project" }));
    await user.type(screen.getByLabelText("Name"), "My Team");
    expect(screen.getByLabelText("Slug")).toHaveValue("my-team");
    await user.click(screen.getByRole("button", { name: "Create project" }));
    expect(await screen.findByText("is taken")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ name: "My Team", slug: "my-team" });
  });
});
