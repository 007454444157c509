/**
 * Who is signed in, and whether signing in is needed at all. lcd on loopback may run with
 * auth off; then `/auth/me` answers without a session and the console opens directly.
 */
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import type { ReactNode } from "react";
import { useApi } from "./context";
import { ApiError } from "./problem";
import type { PlatformConfig } from "./types";

export type SessionStatus = "checking" | "signed-in" | "signed-out" | "open" | "unreachable";

export interface Session {
  status: SessionStatus;
  username: string | null;
  config: PlatformConfig | null;
  error: unknown;
  /** Re-asks the API who we are (after sign-in, or to retry). */
  refresh: () => void;
  signedOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

export function authEnabledIn(config: PlatformConfig | null): boolean | null {
  if (!config) return null;
  if (typeof config.authMode === "string") return !["none", "off", "disabled"].includes(config.authMode.toLowerCase());
  return null;
}

export function SessionProvider({ children, signedOutRef }: { children: ReactNode; signedOutRef?: { current: () => void } }) {
  const api = useApi();
  const [status, setStatus] = useState<SessionStatus>("checking");
  const [username, setUsername] = useState<string | null>(null);
  const [config, setConfig] = useState<PlatformConfig | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [generation, setGeneration] = useState(0);

  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  const signedOut = useCallback(() => {
    setUsername(null);
    setStatus((s) => (s === "open" ? s : "signed-out"));
  }, []);
  if (signedOutRef) signedOutRef.current = signedOut;

  useEffect(() => {
    let cancelled = false;
    (async () => {
      let cfg: PlatformConfig | null = null;
      try {
        cfg = await api.config();
        if (!cancelled) setConfig(cfg);
      } catch (err) {
        if (err instanceof TypeError || (err instanceof ApiError && err.status >= 500)) {
          if (!cancelled) {
            setError(err);
            setStatus("unreachable");
          }
          return;
        }
      }
      try {
        const me = await api.me();
        if (cancelled) return;
        const name = typeof me?.username === "string" ? me.username : null;
        setUsername(name);
        const enabled = typeof me?.authEnabled === "boolean" ? me.authEnabled : authEnabledIn(cfg) !== false;
        setStatus(name && enabled ? "signed-in" : "open");
        setError(undefined);
      } catch (err) {
        if (cancelled) return;
        if (err instanceof ApiError && err.status === 401) setStatus("signed-out");
        else if (err instanceof ApiError && err.status === 404) setStatus("open");
        else {
          setError(err);
          setStatus("unreachable");
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, generation]);

  return (
    <SessionContext.Provider value={{ status, username, config, error, refresh, signedOut }}>
      {children}
    </SessionContext.Provider>
  );
}
