import { describe, expect, it } from "vitest";
import type { Fleet, Gpu } from "../../api/types";
import { applyFleetMessage, groupByNode, summarise } from "./fleetState";

const gpu = (node: string, index: number, health = "Healthy"): Gpu => ({
  node,
  index,
  uuid: `GPU-${node}-${index}`,
  product: "H100-80GB",
  mode: "exclusive",
  health,
  memoryTotalMiB: 81920,
  memoryAvailableMiB: 81920,
  utilization: 0,
  allocations: [],
});

const full = (gpus: Gpu[]): Fleet => ({ gpus, summary: summarise(gpus) });

describe("fleet state", () => {
  it("takes a full view as it is", () => {
    const view = full([gpu("n1", 0), gpu("n1", 1)]);
    expect(applyFleetMessage(null, "snapshot", view)).toEqual(view);
  });

  it("upserts one GPU and recomputes the summary", () => {
    const start = full([gpu("n1", 0), gpu("n1", 1)]);
    const next = applyFleetMessage(start, "gpu", gpu("n1", 1, "Unhealthy"))!;
    expect(next.gpus.find((g) => g.index === 1)!.health).toBe("Unhealthy");
    expect(next.summary).toMatchObject({ total: 2, healthy: 1, unhealthy: 1 });
    const wrapped = applyFleetMessage(next, "message", { type: "upsert", gpu: gpu("n2", 0) })!;
    expect(wrapped.summary.byNode).toEqual({ n1: 2, n2: 1 });
  });

  it("removes a GPU on a removal message", () => {
    const start = full([gpu("n1", 0), gpu("n1", 1)]);
    expect(applyFleetMessage(start, "removed", { uuid: "GPU-n1-0" })!.gpus).toHaveLength(1);
    expect(applyFleetMessage(start, "message", { type: "gpu.deleted", uuid: "GPU-n1-1" })!.gpus).toHaveLength(1);
    expect(applyFleetMessage(start, "gpu", { ...gpu("n1", 1), removed: true })!.gpus.map((g) => g.index)).toEqual([0]);
  });

  it("ignores what it cannot read", () => {
    const start = full([gpu("n1", 0)]);
    expect(applyFleetMessage(start, "message", "ping")).toBe(start);
    expect(applyFleetMessage(start, "message", { hello: 1 })).toBe(start);
  });

  it("groups by node in natural order with GPUs by index", () => {
    const groups = groupByNode([gpu("node-10", 0), gpu("node-2", 1), gpu("node-2", 0)]);
    expect(groups.map((g) => g.node)).toEqual(["node-2", "node-10"]);
    expect(groups[0]!.gpus.map((g) => g.index)).toEqual([0, 1]);
  });
});
