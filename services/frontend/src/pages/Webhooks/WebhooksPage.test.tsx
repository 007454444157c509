import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../test/render";

const SECRET = "whsec_c2hvd24tb25jZS1hbmQtbmV2ZXItYWdhaW4tMTIzNDU2";
const hook = (status: "active" | "paused", extra: Record<string, unknown> = {}) => ({
  id: "w1",
  url: "https://hooks.example.com/lc",
  eventTypes: ["service.*"],
  projectSlug: null,
  description: "",
  status,
  pauseReason: status === "paused" ? "retries_exhausted" : null,
  version: 3,
  createdAt: "2026-11-30T00:00:00Z",
  updatedAt: "2026-11-30T00:00:00Z",
  ...extra,
});
const delivery = {
  id: 7,
  eventId: "e-1",
  eventSeq: 42,
  eventType: "service.applied",
  attempt: 2,
  outcome: "failed",
  statusCode: 503,
  latencyMs: 12.4,
  error: "HTTP 503",
  responseBody: "busy",
  nextAttemptAt: "2026-11-30T00:05:00Z",
  attemptedAt: "2026-11-30T00:00:00Z",
};

describe("WebhooksPage", () => {
  it("creates a webhook and shows its secret once", async () => {
    const user = userEvent.setup();
    const hooks: ReturnType<typeof hook>[] = [];
    const { calls } = renderConsole("/webhooks", {
      "GET /api/v1/webhooks": () => ({ body: { items: hooks } }),
      "POST /api/v1/webhooks": () => {
        hooks.push(hook("active"));
        return { status: 201, body: { ...hook("active"), secret: SECRET } };
      },
    });
    expect(await screen.findByText("No webhooks yet.")).toBeInTheDocument();
    const form = screen.getByRole("form", { name: "New webhook" });
    await user.type(within(form).getByLabelText("URL"), "https://hooks.example.com/lc");
    await user.click(within(form).getByRole("button", { name: "Add webhook" }));
    const shown = await screen.findByRole("status", { name: "Signing secret" });
    expect(within(shown).getByText(SECRET)).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({
      url: "https://hooks.example.com/lc",
      eventTypes: ["service.*"],
    });
    await screen.findByRole("table", { name: "Webhooks" });
    await user.click(within(shown).getByRole("button", { name: "I have copied it" }));
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("shows lcd's field errors and sends nothing for a bad URL", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/webhooks", {
      "GET /api/v1/webhooks": { body: { items: [] } },
      "POST /api/v1/webhooks": {
        status: 422,
        body: {
          type: "validation-error",
          title: "Unprocessable",
          status: 422,
          detail: "webhook URL refused",
          errors: [{ pointer: "/url", detail: "10.0.0.1 is a private address" }],
        },
      },
    });
    const form = await screen.findByRole("form", { name: "New webhook" });
    await user.type(within(form).getByLabelText("URL"), "ftp://x");
    await user.click(within(form).getByRole("button", { name: "Add webhook" }));
    expect(await within(form).findByText("an https:// URL")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    await user.clear(within(form).getByLabelText("URL"));
    await user.type(within(form).getByLabelText("URL"), "https://10.0.0.1/");
    await user.click(within(form).getByRole("button", { name: "Add webhook" }));
    expect(await within(form).findByText("10.0.0.1 is a private address")).toBeInTheDocument();
  });

  it("resumes a paused webhook, lists deliveries and replays", async () => {
    const user = userEvent.setup();
    let current = hook("paused");
    const { calls } = renderConsole("/webhooks", {
      "GET /api/v1/webhooks": () => ({ body: { items: [current] } }),
      "POST /api/v1/webhooks/w1/resume": () => {
        current = hook("active");
        return { body: current };
      },
      "GET /api/v1/webhooks/w1/deliveries": { body: { items: [delivery] } },
      "POST /api/v1/webhooks/w1/replay": { status: 202, body: { status: "accepted", seq: 50, location: "/x" } },
    });
    const table = await screen.findByRole("table", { name: "Webhooks" });
    expect(within(table).getByText("retries_exhausted")).toBeInTheDocument();
    await user.click(within(table).getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(within(table).getByRole("button", { name: "Pause" })).toBeInTheDocument());
    await user.click(within(table).getByRole("button", { name: "Deliveries" }));
    const attempts = await screen.findByRole("table", { name: "Delivery attempts" });
    expect(within(attempts).getByText("503")).toBeInTheDocument();
    expect(within(attempts).getByText(/HTTP 503/)).toBeInTheDocument();
    const replay = screen.getByRole("form", { name: "Replay" });
    await user.type(within(replay).getByLabelText("Replay from sequence"), "0");
    await user.click(within(replay).getByRole("button", { name: "Replay" }));
    expect(await within(replay).findByText(/whole number/)).toBeInTheDocument();
    await user.clear(within(replay).getByLabelText("Replay from sequence"));
    await user.type(within(replay).getByLabelText("Replay from sequence"), "42");
    await user.click(within(replay).getByRole("button", { name: "Replay" }));
    expect(await within(replay).findByText("Replay requested.")).toBeInTheDocument();
    expect(calls.find((c) => c.url.endsWith("/replay"))!.body).toEqual({ fromSequence: 42 });
  });
});
