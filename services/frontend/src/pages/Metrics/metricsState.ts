/**
 * Time series for the Metrics page. `GET /metrics` answers the proxy's per-model figures
 * over a window; the page samples it every few seconds and keeps the samples to chart.
 */
import type { ModelMetrics } from "../../api/types";
import type { Series } from "../../components/LineChart";

export interface Sample {
  t: number;
  models: ModelMetrics[];
}

const MAX_SAMPLES = 360;

function num(o: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const path = k.split(".");
    let v: unknown = o;
    for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

/** Reads one model's figures, whichever of the usual spellings the API uses. */
export function normaliseModel(raw: unknown): ModelMetrics | null {
  if (raw === null || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  const model = typeof o.model === "string" ? o.model : typeof o.modelName === "string" ? o.modelName : null;
  if (!model) return null;
  return {
    model,
    requests: num(o, "requests", "requestCount") ?? 0,
    errors: num(o, "errors", "errorCount") ?? 0,
    requestRate: num(o, "requestRate", "requestsPerSecond", "rps") ?? 0,
    errorRate: num(o, "errorRate", "errorsPerSecond") ?? 0,
    latencyP50Ms: num(o, "latencyP50Ms", "latencyMs.p50", "latency.p50Ms", "latency.p50"),
    latencyP95Ms: num(o, "latencyP95Ms", "latencyMs.p95", "latency.p95Ms", "latency.p95"),
    latencyP99Ms: num(o, "latencyP99Ms", "latencyMs.p99", "latency.p99Ms", "latency.p99"),
    ttftP50Ms: num(o, "ttftP50Ms", "ttftMs.p50", "ttft.p50Ms", "ttft.p50"),
    promptTokens: num(o, "promptTokens", "tokens.prompt") ?? 0,
    completionTokens: num(o, "completionTokens", "tokens.completion") ?? 0,
    tokensPerSecond: num(o, "tokensPerSecond", "tokenRate", "tokens.perSecond"),
  };
}

export function normaliseMetrics(body: unknown): ModelMetrics[] {
  const list = Array.isArray(body)
    ? body
    : body !== null && typeof body === "object" && Array.isArray((body as { models?: unknown }).models)
      ? (body as { models: unknown[] }).models
      : [];
  return list.map(normaliseModel).filter((m): m is ModelMetrics => m !== null);
}

export function addSample(samples: readonly Sample[], sample: Sample): Sample[] {
  const next = [...samples, sample];
  return next.length > MAX_SAMPLES ? next.slice(next.length - MAX_SAMPLES) : next;
}

export function modelsIn(samples: readonly Sample[]): string[] {
  const names = new Set<string>();
  for (const s of samples) for (const m of s.models) names.add(m.model);
  return [...names].sort();
}

/** One line per model of `pick(model)` over time; nulls leave gaps out. */
export function seriesOf(samples: readonly Sample[], pick: (m: ModelMetrics) => number | null | undefined): Series[] {
  return modelsIn(samples).map((name) => ({
    name,
    points: samples.flatMap((s) => {
      const m = s.models.find((x) => x.model === name);
      const v = m ? pick(m) : null;
      return v === null || v === undefined ? [] : [{ t: s.t, v }];
    }),
  }));
}

/**
 * Tokens per second per model: the API's figure if it gives one, else the growth of the
 * cumulative token counters between consecutive samples.
 */
export function tokenRateSeries(samples: readonly Sample[]): Series[] {
  return modelsIn(samples).map((name) => {
    const points: { t: number; v: number }[] = [];
    let prev: { t: number; total: number } | null = null;
    for (const s of samples) {
      const m = s.models.find((x) => x.model === name);
      if (!m) continue;
      const total = m.promptTokens + m.completionTokens;
      if (m.tokensPerSecond != null) points.push({ t: s.t, v: m.tokensPerSecond });
      else if (prev && s.t > prev.t) points.push({ t: s.t, v: Math.max(0, (total - prev.total) / ((s.t - prev.t) / 1000)) });
      prev = { t: s.t, total };
    }
    return { name, points };
  });
}
