import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { BatchesPage } from "./BatchesPage";

const running = {
  id: "batch_abc",
  endpoint: "/v1/chat/completions",
  status: "in_progress",
  input_file_id: "file-1",
  output_file_id: null,
  error_file_id: null,
  created_at: 0,
  in_progress_at: Math.floor(Date.now() / 1000) - 10,
  completed_at: null,
  request_counts: { total: 100, completed: 40, failed: 10 },
  errors: null,
  metadata: null,
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("BatchesPage", () => {
  it("lists batches with their progress and cancels one through /v1", async () => {
    const user = userEvent.setup();
    const fetchImpl = vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith("/cancel")) {
        expect(init?.method).toBe("POST");
        return json({ ...running, status: "cancelling" });
      }
      return json({ object: "list", data: [running] });
    });
    render(<BatchesPage fetchImpl={fetchImpl} />);
    const bar = await screen.findByRole("progressbar", { name: "Progress of batch_abc" });
    expect(bar).toHaveAttribute("aria-valuenow", "50");
    expect(bar).toHaveAttribute("aria-valuetext", "40 completed, 10 failed of 100");
    const row = bar.closest("tr")!;
    expect(within(row).getByText(/req\/s/)).toBeInTheDocument();
    expect(within(row).getByText(/left/)).toBeInTheDocument();
    await user.click(within(row).getByRole("button", { name: "Cancel" }));
    await user.click(within(row).getByRole("button", { name: "Cancel batch" }));
    expect(fetchImpl).toHaveBeenCalledWith("/v1/batches/batch_abc/cancel", expect.anything());
  });

  it("asks for an API key when the proxy wants one, and sends it as a bearer token", async () => {
    const user = userEvent.setup();
    const fetchImpl = vi.fn(async (_url: string, init?: RequestInit) => {
      const auth = (init?.headers as Record<string, string> | undefined)?.Authorization;
      if (auth !== "Bearer lc-key-123") return json({ error: { message: "Missing or unknown API key.", code: "invalid_api_key" } }, 401);
      return json({ object: "list", data: [] });
    });
    render(<BatchesPage fetchImpl={fetchImpl} />);
    await user.type(await screen.findByLabelText(/API key/), "lc-key-123");
    await user.click(screen.getByRole("button", { name: "Show its batches" }));
    expect(await screen.findByText("No batches yet.")).toBeInTheDocument();
  });
});
