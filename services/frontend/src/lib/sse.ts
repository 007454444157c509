/**
 * Server-sent events: one hook per stream URL. The browser's EventSource reconnects on its
 * own and resends `Last-Event-ID`; the hook reports whether the stream is live so pages can
 * say so (and fall back to polling when it is not).
 */
import { useEffect, useRef, useState } from "react";

export type StreamState = "connecting" | "live" | "down";

export interface StreamMessage {
  event: string;
  data: unknown;
  id: string;
}

export type EventSourceFactory = (url: string) => EventSource;

let factory: EventSourceFactory = (url) => new EventSource(url, { withCredentials: true });

/** Tests replace the EventSource constructor. */
export function setEventSourceFactory(f: EventSourceFactory): void {
  factory = f;
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Subscribes to `url` while mounted. `eventNames` are the named SSE events to listen to,
 * besides unnamed "message" events.
 */
export function useEventStream(
  url: string | null,
  onMessage: (message: StreamMessage) => void,
  eventNames: readonly string[] = [],
): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const names = eventNames.join(",");

  useEffect(() => {
    if (!url) return;
    setState("connecting");
    let source: EventSource;
    try {
      source = factory(url);
    } catch {
      setState("down");
      return;
    }
    const listener = (e: Event) => {
      const m = e as MessageEvent<string>;
      setState("live");
      handler.current({ event: e.type, data: parse(m.data), id: m.lastEventId });
    };
    source.onopen = () => setState("live");
    source.onerror = () => setState(source.readyState === 2 ? "down" : "connecting");
    source.addEventListener("message", listener);
    const extra = names ? names.split(",") : [];
    for (const name of extra) source.addEventListener(name, listener);
    return () => {
      source.removeEventListener("message", listener);
      for (const name of extra) source.removeEventListener(name, listener);
      source.close();
    };
  }, [url, names]);

  return state;
}
