import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../test/render";

const project = { slug: "default", name: "Default", version: 1, serviceCount: 0, createdAt: "2024-01-01T00:00:00Z", updatedAt: "2024-01-01T00:00:00Z" };
const secret = (name: string, version: number) => ({
  projectSlug: "default",
  name,
  version,
  createdAt: "2024-01-01T00:00:00Z",
  updatedAt: "2024-01-02T00:00:00Z",
});
const VALUE = "hf_do-not-show-me";

function routes(secrets: ReturnType<typeof secret>[]) {
  return {
    "GET /api/v1/projects/default": { body: project },
    "GET /api/v1/projects/default/services": { body: { items: [] } },
    "GET /api/v1/projects/default/secrets": () => ({ body: { items: secrets } }),
  };
}

describe("SecretsSection", () => {
  it("lists names and versions, never a value", async () => {
    renderConsole("/projects/default", routes([secret("hf-token", 3)]));
    const table = await screen.findByRole("table", { name: "Project secrets" });
    const row = within(table).getByText("hf-token").closest("tr")!;
    expect(within(row).getByText("3")).toBeInTheDocument();
    expect(screen.queryByText(/value/i, { selector: "td" })).toBeNull();
  });

  it("creates a secret from a password input and forgets the value", async () => {
    const user = userEvent.setup();
    const secrets: ReturnType<typeof secret>[] = [];
    const { calls } = renderConsole("/projects/default", {
      ...routes(secrets),
      "POST /api/v1/projects/default/secrets": () => {
        secrets.push(secret("hf-token", 1));
        return { status: 201, body: secret("hf-token", 1) };
      },
    });
    const form = await screen.findByRole("form", { name: "New secret" });
    const value = within(form).getByLabelText("Value");
    expect(value).toHaveAttribute("type", "password");
    await user.type(within(form).getByLabelText("Secret name"), "hf-token");
    await user.type(value, VALUE);
    await user.click(within(form).getByRole("button", { name: "Add secret" }));
    expect(await screen.findByRole("table", { name: "Project secrets" })).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ name: "hf-token", value: VALUE });
    await waitFor(() => expect(value).toHaveValue(""));
    expect(document.body.textContent).not.toContain(VALUE);
  });

  it("shows a bad name before sending anything", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default", routes([]));
    const form = await screen.findByRole("form", { name: "New secret" });
    await user.type(within(form).getByLabelText("Secret name"), "Bad_Name");
    await user.type(within(form).getByLabelText("Value"), "x");
    await user.click(within(form).getByRole("button", { name: "Add secret" }));
    expect(await within(form).findByText(/lowercase letters/)).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });

  it("rotates to a new version and deletes after confirming", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default", {
      ...routes([secret("hf-token", 1)]),
      "PUT /api/v1/projects/default/secrets/hf-token": { body: secret("hf-token", 2) },
      "DELETE /api/v1/projects/default/secrets/hf-token": { status: 204 },
    });
    const table = await screen.findByRole("table", { name: "Project secrets" });
    await user.click(within(table).getByRole("button", { name: "Rotate" }));
    const rotate = screen.getByRole("form", { name: "Rotate hf-token" });
    const input = within(rotate).getByLabelText("New value of hf-token");
    expect(input).toHaveAttribute("type", "password");
    await user.type(input, "hf_new");
    await user.click(within(rotate).getByRole("button", { name: "Save new version" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    expect(calls.find((c) => c.method === "PUT")!.body).toEqual({ value: "hf_new" });
    await user.click(await within(table).findByRole("button", { name: "Delete" }));
    await user.click(screen.getByRole("button", { name: "Delete hf-token" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
  });
});
