import { act, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Gpu } from "../../api/types";
import { FakeEventSource } from "../../test/fakes";
import { renderConsole } from "../../test/render";
import { summarise } from "./fleetState";

const gpu = (node: string, index: number, health = "Healthy"): Gpu => ({
  node,
  index,
  uuid: `GPU-${node}-${index}`,
  product: "H100-80GB",
  mode: "exclusive",
  health,
  memoryTotalMiB: 81920,
  memoryAvailableMiB: 40960,
  utilization: 50,
  allocations: index === 0 ? [{ model: "llama", modelName: "meta-llama/Llama-3.1-8B-Instruct", projectSlug: "default", serviceName: "llama-3-8b" }] : [],
});

const view = (gpus: Gpu[]) => ({ gpus, summary: summarise(gpus) });

describe("FleetPage", () => {
  it("groups GPUs by node and follows the stream without reloading", async () => {
    renderConsole("/fleet", { "GET /api/v1/fleet": { body: view([gpu("node-a", 0), gpu("node-a", 1), gpu("node-b", 0)]) } });
    const nodeA = await screen.findByRole("region", { name: /node-a/ });
    expect(within(nodeA).getAllByRole("article")).toHaveLength(2);
    expect(within(nodeA).getByRole("link", { name: "default/llama-3-8b" })).toBeInTheDocument();
    expect(screen.getByTestId("fleet-unhealthy")).toHaveTextContent("0");

    const stream = FakeEventSource.latest("/api/v1/fleet/stream");
    act(() => {
      stream.open();
      stream.emit(gpu("node-a", 1, "Unhealthy"), "gpu");
    });
    expect(screen.getByTestId("fleet-unhealthy")).toHaveTextContent("1");
    expect(screen.getByRole("article", { name: "GPU 1 on node-a" })).toHaveAttribute("data-health", "Unhealthy");
    expect(screen.getByText("Live")).toBeInTheDocument();
  });

  it("shows an empty fleet", async () => {
    renderConsole("/fleet", { "GET /api/v1/fleet": { body: view([]) } });
    expect(await screen.findByText("No GPUs reported.")).toBeInTheDocument();
  });

  it("shows an error with a retry", async () => {
    renderConsole("/fleet", { "GET /api/v1/fleet": { status: 503, body: { title: "A backing service is unavailable", status: 503, detail: "retry" } } });
    expect(await screen.findByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});
