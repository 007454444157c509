/**
 * Where pages get the API client, the platform config, the signed-in user and the live
 * audit stream from. `ApiProvider` is mounted once by App; tests mount it with a fake client.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef } from "react";
import type { ReactNode } from "react";
import { ApiClient } from "./client";
import type { AuditEvent } from "./types";
import { useEventStream } from "../lib/sse";
import type { StreamState } from "../lib/sse";

/** Event types named on the SSE stream, in case the API sends them as named events. */
export const EVENT_TYPES = [
  "project.created",
  "project.updated",
  "project.deleted",
  "service.applied",
  "service.deleted",
  "service.status_changed",
  "domain.registered",
  "domain.verification_requested",
  "domain.verified",
  "domain.verification_failed",
  "domain.verification_lost",
  "domain.deleted",
  "fqdn.claimed",
  "fqdn.released",
  "gpu.health_changed",
] as const;

const ApiContext = createContext<ApiClient | null>(null);

export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (!client) throw new Error("useApi outside ApiProvider");
  return client;
}

type Listener = (event: AuditEvent) => void;

interface LiveEvents {
  state: StreamState;
  subscribe: (listener: Listener) => () => void;
}

const LiveEventsContext = createContext<LiveEvents>({ state: "down", subscribe: () => () => undefined });

export function isAuditEvent(value: unknown): value is AuditEvent {
  return value !== null && typeof value === "object" && typeof (value as { type?: unknown }).type === "string";
}

/** One EventSource on `/events/stream` for the whole app; pages subscribe to it. */
export function LiveEventsProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const api = useApi();
  const listeners = useRef(new Set<Listener>());
  const state = useEventStream(
    enabled ? api.url("/events/stream") : null,
    (m) => {
      if (!isAuditEvent(m.data)) return;
      const event = m.data;
      if (event.seq === undefined && m.id && /^\d+$/.test(m.id)) event.seq = Number(m.id);
      for (const l of listeners.current) l(event);
    },
    EVENT_TYPES,
  );
  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ state, subscribe }), [state, subscribe]);
  return <LiveEventsContext.Provider value={value}>{children}</LiveEventsContext.Provider>;
}

export function useLiveEvents(listener: Listener | null): StreamState {
  const ctx = useContext(LiveEventsContext);
  const ref = useRef(listener);
  ref.current = listener;
  const active = listener !== null;
  useEffect(() => {
    if (!active) return;
    return ctx.subscribe((e) => ref.current?.(e));
  }, [ctx, active]);
  return ctx.state;
}

/** Calls `refetch` when an audit event whose type starts with one of `prefixes` arrives. */
export function useRefetchOn(prefixes: readonly string[], refetch: () => void): StreamState {
  const key = prefixes.join(",");
  return useLiveEvents((e) => {
    if (key.split(",").some((p) => e.type.startsWith(p))) refetch();
  });
}
