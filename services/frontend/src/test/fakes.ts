/** Test doubles: a scripted fetch and a controllable EventSource. */
import type { FetchLike } from "../api/client";

export interface Call {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, string>;
}

type Reply = { status?: number; body?: unknown; contentType?: string };
type Route = (call: Call) => Reply | undefined;

/** A fetch that answers from `routes` (first match wins) and records every call. */
export function fakeFetch(routes: Record<string, Reply | Route>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = async (input, init) => {
    const method = (init?.method ?? "GET").toUpperCase();
    const url = new URL(input, "http://console.test");
    const call: Call = {
      method,
      url: url.pathname + url.search,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    const key = `${method} ${url.pathname}`;
    const route = routes[key] ?? routes[`${method} ${url.pathname}${url.search}`];
    const reply = typeof route === "function" ? route(call) : route;
    if (!reply) {
      return new Response(JSON.stringify({ type: "about:blank", title: "Not found", status: 404, detail: key, errors: [] }), {
        status: 404,
        headers: { "Content-Type": "application/problem+json" },
      });
    }
    const status = reply.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(reply.body ?? {}), {
      status,
      headers: { "Content-Type": reply.contentType ?? (status >= 400 ? "application/problem+json" : "application/json") },
    });
  };
  return { fetch, calls };
}

export function problem(status: number, detail: string, errors: { pointer: string; detail: string }[] = []) {
  return {
    status,
    body: { type: "https://liquidcompute.io/problems/validation-error", title: "The request is not valid", status, detail, errors },
  };
}

/** An EventSource the test drives: `emit` delivers a message, `open` marks it connected. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, Set<(e: Event) => void>>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, fn: (e: Event) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }

  removeEventListener(type: string, fn: (e: Event) => void) {
    this.listeners.get(type)?.delete(fn);
  }

  close() {
    this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.onopen?.();
  }

  emit(data: unknown, event = "message", id = "") {
    const e = new MessageEvent(event, { data: JSON.stringify(data), lastEventId: id });
    for (const fn of this.listeners.get(event) ?? []) fn(e);
  }

  static latest(match: string): FakeEventSource {
    const found = [...FakeEventSource.instances].reverse().find((s) => s.url.includes(match) && s.readyState !== 2);
    if (!found) throw new Error(`no open EventSource for ${match}`);
    return found;
  }
}
