import { describe, expect, it } from "vitest";
import type { ModelUsage } from "../../api/types";
import { addSample, latencyP50, requestRate, seriesOf, toSample, tokenRate } from "./metricsState";

const usage = (model: string, requests: number, p50: number | null = 25): ModelUsage => ({
  model,
  requests,
  errors: 0,
  promptTokens: requests * 10,
  completionTokens: requests * 20,
  latencyBuckets: [],
  ttftBuckets: [],
  latencyP50Ms: p50,
  latencyP95Ms: p50,
});

const body = (models: ModelUsage[], windowS = 60) => ({ models, replicas: 1, windowS, bucketBoundsMs: [], generatedAt: "" });

describe("metrics samples", () => {
  it("charts the window's totals as rates", () => {
    let samples = addSample([], toSample(1000, "1m", body([usage("a", 60)])));
    samples = addSample(samples, toSample(6000, "1m", body([usage("a", 120), usage("b", 30)])));
    expect(seriesOf(samples, requestRate)).toEqual([
      { name: "a", points: [{ t: 1000, v: 1 }, { t: 6000, v: 2 }] },
      { name: "b", points: [{ t: 1000, v: 0 }, { t: 6000, v: 0.5 }] },
    ]);
    expect(seriesOf(samples, tokenRate)[0]!.points[1]!.v).toBe(60);
  });

  it("leaves latency out where there was none", () => {
    const samples = [toSample(1, "1m", body([usage("a", 1, null)])), toSample(2, "1m", body([usage("a", 1, 50)]))];
    expect(seriesOf(samples, latencyP50, false)[0]!.points).toEqual([{ t: 2, v: 50 }]);
  });

  it("falls back to the asked window when the API does not echo it", () => {
    expect(toSample(0, "5m", { ...body([]), windowS: null }).windowS).toBe(300);
  });
});
