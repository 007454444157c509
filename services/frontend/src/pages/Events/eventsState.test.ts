import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../api/types";
import { describeEvent, matches, mergeEvents, projectOf } from "./eventsState";

const ev = (seq: number, type: string, data: Record<string, unknown>, subject = ""): AuditEvent => ({
  seq,
  id: `e${seq}`,
  type,
  time: new Date(1700000000000 + seq * 1000).toISOString(),
  subject,
  data,
});

describe("audit log state", () => {
  it("merges newest first without duplicates", () => {
    const merged = mergeEvents([ev(1, "project.created", {}), ev(2, "project.updated", {})], [ev(2, "project.updated", {}), ev(3, "project.deleted", {})]);
    expect(merged.map((e) => e.seq)).toEqual([3, 2, 1]);
  });

  it("finds the project of an event", () => {
    expect(projectOf(ev(1, "project.created", { slug: "default", name: "Default" }))).toBe("default");
    expect(projectOf(ev(2, "service.applied", { projectSlug: "team" }))).toBe("team");
    expect(projectOf(ev(3, "gpu.health_changed", {}, "lc.events.gpu.node-1.GPU-1"))).toBeNull();
  });

  it("filters by type prefix and project", () => {
    const e = ev(1, "service.status_changed", { projectSlug: "default", name: "hello", phase: "Ready" });
    expect(matches(e, { type: "service.applied,service.status_changed", project: "" })).toBe(true);
    expect(matches(e, { type: "service.status_changed", project: "default" })).toBe(true);
    expect(matches(e, { type: "service.applied", project: "" })).toBe(false);
    expect(matches(e, { type: "", project: "other" })).toBe(false);
  });

  it("describes what happened", () => {
    expect(describeEvent(ev(1, "service.status_changed", { projectSlug: "d", name: "hello", previousPhase: "Deploying", phase: "Ready" }))).toBe(
      "d/hello: Deploying → Ready",
    );
    expect(describeEvent(ev(2, "gpu.health_changed", { node: "node-1", index: 2, product: "H100-80GB", previous: "Healthy", current: "Unhealthy" }))).toBe(
      "node-1 GPU 2 (H100-80GB): Healthy → Unhealthy",
    );
    expect(describeEvent(ev(4, "domain.verification_failed", { id: "d1", reason: "mismatch", attempt: 2 }))).toBe("d1 — mismatch (attempt 2)");
    expect(describeEvent(ev(3, "service.applied", { projectSlug: "d", revision: 2, spec: { name: "llama" } }))).toBe("d/llama revision 2");
  });
});
