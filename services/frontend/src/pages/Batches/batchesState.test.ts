import { describe, expect, it } from "vitest";
import type { Batch } from "./batchesClient";
import { canCancel, formatDuration, progressOf, statusTone } from "./batchesState";

const batch = (over: Partial<Batch> = {}): Batch => ({
  id: "batch_1",
  endpoint: "/v1/chat/completions",
  status: "in_progress",
  input_file_id: "file-1",
  output_file_id: null,
  error_file_id: null,
  created_at: 990,
  in_progress_at: 1000,
  completed_at: null,
  request_counts: { total: 1000, completed: 180, failed: 20 },
  errors: null,
  metadata: null,
  ...over,
});

describe("batch progress", () => {
  it("shows completed and failed shares, the rate since it started and the time left", () => {
    const p = progressOf(batch(), 1010);
    expect(p).toMatchObject({ done: 200, total: 1000, completedPct: 18, failedPct: 2 });
    expect(p.ratePerS).toBe(20);
    expect(p.etaS).toBe(40);
  });

  it("has no rate before it starts and no time left once it ended", () => {
    const waiting = progressOf(batch({ status: "validating", in_progress_at: null, request_counts: { total: 0, completed: 0, failed: 0 } }), 1010);
    expect(waiting).toMatchObject({ ratePerS: null, etaS: null, completedPct: 0 });
    const done = progressOf(
      batch({ status: "completed", completed_at: 1050, request_counts: { total: 1000, completed: 990, failed: 10 } }),
      5000,
    );
    expect(done.ratePerS).toBe(20);
    expect(done.etaS).toBeNull();
    expect(done.completedPct + done.failedPct).toBeLessThanOrEqual(100);
  });

  it("offers cancel only while the batch can still be cancelled", () => {
    expect(canCancel("in_progress")).toBe(true);
    expect(canCancel("validating")).toBe(true);
    expect(canCancel("cancelling")).toBe(false);
    expect(canCancel("completed")).toBe(false);
  });

  it("formats durations and tones", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(7300)).toBe("2 h 1 min");
    expect(statusTone("expired")).toBe("bad");
    expect(statusTone("in_progress")).toBe("wait");
  });
});
