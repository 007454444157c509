/**
 * A small data-loading hook: loading → data | error, with refetch, optional polling and
 * a "reloading" flag so a page keeps showing its data while it refreshes.
 */
import { useCallback, useEffect, useRef, useState } from "react";

export interface QueryState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  refetch: () => void;
}

export function useQuery<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { intervalMs?: number } = {},
): QueryState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(err);
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    setLoading(true);
    setData(undefined);
    setError(undefined);
    run();
    return () => {
      generation.current++;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    if (!options.intervalMs) return;
    const timer = setInterval(run, options.intervalMs);
    return () => clearInterval(timer);
  }, [options.intervalMs, run]);

  return { data, error, loading: loading && data === undefined, refetch: run };
}
