/** Per-model request rate, latency and tokens from the proxy, as charts and a table. */
import { useEffect, useState } from "react";
import { useApi } from "../../api/context";
import { PageHeader } from "../../components/Layout";
import { LineChart, formatValue } from "../../components/LineChart";
import { SelectField } from "../../components/Field";
import { Empty, ErrorBanner, Loading } from "../../components/States";
import { WINDOWS, addSample, errorRate, latencyP50, latencyP95, requestRate, seriesOf, toSample, tokenRate } from "./metricsState";
import type { Sample } from "./metricsState";

const EVERY_MS = 5000;

export function MetricsPage() {
  const api = useApi();
  const [window, setWindow] = useState<string>("1m");
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    let cancelled = false;
    setSamples([]);
    setLoaded(false);
    const tick = () =>
      api.metrics(window).then(
        (body) => {
          if (cancelled) return;
          setSamples((s) => addSample(s, toSample(Date.now(), window, body)));
          setError(undefined);
          setLoaded(true);
        },
        (err: unknown) => {
          if (cancelled) return;
          setError(err);
          setLoaded(true);
        },
      );
    void tick();
    const timer = setInterval(() => void tick(), EVERY_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [api, window]);

  const last = samples[samples.length - 1];
  const latest = last?.models ?? [];
  const windowS = last?.windowS ?? 60;
  return (
    <>
      <PageHeader title="Metrics">
        <SelectField label="Window" value={window} onChange={(e) => setWindow(e.target.value)} className="compact">
          {Object.keys(WINDOWS).map((w) => (
            <option key={w} value={w}>
              {w}
            </option>
          ))}
        </SelectField>
      </PageHeader>
      <p className="lead">
        Requests through the OpenAI-compatible endpoint, per model, summed over every proxy replica. Each point is the average over
        the last {window}, sampled every {EVERY_MS / 1000} s.
      </p>
      {error !== undefined && <ErrorBanner error={error} />}
      {!loaded && <Loading what="metrics" />}
      {loaded && error === undefined && latest.length === 0 && (
        <Empty title="No traffic yet.">
          <p>Call a Ready model through /v1 and its figures appear here.</p>
        </Empty>
      )}
      {latest.length > 0 && (
        <>
          <div className="charts">
            <LineChart title="Request rate" unit="req/s" series={seriesOf(samples, requestRate)} />
            <LineChart title="Tokens" unit="tokens/s" series={seriesOf(samples, tokenRate)} />
            <LineChart title="Latency p50" unit="ms (bucket bound)" series={seriesOf(samples, latencyP50, false)} />
            <LineChart title="Latency p95" unit="ms (bucket bound)" series={seriesOf(samples, latencyP95, false)} />
          </div>
          <div className="table-wrap">
            <table className="table" aria-label="Per-model figures">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Requests ({window})</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Req/s</th>
                  <th scope="col">Errors/s</th>
                  <th scope="col">p50 ms</th>
                  <th scope="col">p95 ms</th>
                  <th scope="col">Prompt tokens</th>
                  <th scope="col">Completion tokens</th>
                </tr>
              </thead>
              <tbody>
                {latest.map((m) => (
                  <tr key={m.model}>
                    <td data-label="Model" className="mono">
                      {m.model}
                    </td>
                    <td data-label="Requests">{m.requests}</td>
                    <td data-label="Errors" className={m.errors ? "tone-bad" : undefined}>
                      {m.errors}
                    </td>
                    <td data-label="Req/s">{formatValue(requestRate(m, windowS) ?? 0)}</td>
                    <td data-label="Errors/s">{formatValue(errorRate(m, windowS) ?? 0)}</td>
                    <td data-label="p50 ms">{m.latencyP50Ms != null ? formatValue(m.latencyP50Ms) : "—"}</td>
                    <td data-label="p95 ms">{m.latencyP95Ms != null ? formatValue(m.latencyP95Ms) : "—"}</td>
                    <td data-label="Prompt tokens">{m.promptTokens}</td>
                    <td data-label="Completion tokens">{m.completionTokens}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
