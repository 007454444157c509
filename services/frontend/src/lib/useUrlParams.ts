/** Page state kept in the URL query (so a filtered view can be shared and survives reload). */
import { useCallback } from "react";
import { useSearchParams } from "react-router-dom";

export function useUrlParam(name: string): [string, (value: string) => void] {
  const [params, setParams] = useSearchParams();
  const value = params.get(name) ?? "";
  const set = useCallback(
    (next: string) =>
      setParams(
        (current) => {
          const out = new URLSearchParams(current);
          if (next) out.set(name, next);
          else out.delete(name);
          return out;
        },
        { replace: true },
      ),
    [name, setParams],
  );
  return [value, set];
}

/** A repeated query parameter (`?phase=Ready&phase=Failed`) as a list. */
export function useUrlList(name: string): [string[], (values: string[]) => void] {
  const [params, setParams] = useSearchParams();
  const values = params.getAll(name);
  const set = useCallback(
    (next: string[]) =>
      setParams(
        (current) => {
          const out = new URLSearchParams(current);
          out.delete(name);
          for (const v of next) out.append(name, v);
          return out;
        },
        { replace: true },
      ),
    [name, setParams],
  );
  return [values, set];
}
