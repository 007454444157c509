/**
 * Time series for the Metrics page. `GET /metrics?window=W` answers each model's requests,
 * errors, tokens and latency histogram over the last W, summed over the proxy replicas; the
 * page samples it every few seconds and charts the samples. Rates are the window's totals
 * divided by its length, so the window is also the smoothing.
 */
import type { Metrics, ModelUsage } from "../../api/types";
import type { Series } from "../../components/LineChart";

export interface Sample {
  t: number;
  windowS: number;
  models: ModelUsage[];
}

const MAX_SAMPLES = 360;

export const WINDOWS: Record<string, number> = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600 };

export function toSample(t: number, window: string, body: Metrics): Sample {
  return { t, windowS: body.windowS ?? WINDOWS[window] ?? 60, models: body.models ?? [] };
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

export type Pick = (m: ModelUsage, windowS: number) => number | null | undefined;

export const requestRate: Pick = (m, w) => m.requests / w;
export const errorRate: Pick = (m, w) => m.errors / w;
export const tokenRate: Pick = (m, w) => (m.promptTokens + m.completionTokens) / w;
export const latencyP50: Pick = (m) => m.latencyP50Ms;
export const latencyP95: Pick = (m) => m.latencyP95Ms;

/** One line per model over time; a model absent from a sample had no traffic (0). */
export function seriesOf(samples: readonly Sample[], pick: Pick, absentIsZero = true): Series[] {
  return modelsIn(samples).map((name) => ({
    name,
    points: samples.flatMap((s) => {
      const m = s.models.find((x) => x.model === name);
      const v = m ? pick(m, s.windowS) : absentIsZero ? 0 : null;
      return v === null || v === undefined ? [] : [{ t: s.t, v }];
    }),
  }));
}
