/**
 * A list the API pages with `next`: the first page on load (and whenever `deps` change),
 * more on `loadMore`, and `refresh` that re-reads what is shown. One read is in flight at a
 * time: a `loadMore` asked for meanwhile runs next (a stream of live events must not starve
 * scrolling), and refreshes are coalesced (at most one queued). Items whose content did not
 * change keep their identity, so memoised rows do not re-render when a live event touches
 * another one.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { Page } from "../api/types";

export interface PagedList<T> {
  items: T[];
  /** True until the first page (of the current query) has arrived. */
  loading: boolean;
  loadingMore: boolean;
  hasMore: boolean;
  error: unknown;
  loadMore: () => void;
  refresh: () => void;
}

export type LoadPage<T> = (after: string | undefined, limit: number) => Promise<Page<T>>;

/** `fresh` with every item equal (same JSON) to one in `old` replaced by that old object. */
export function keepIdentity<T>(old: readonly T[], fresh: readonly T[], key: (item: T) => string): T[] {
  const before = new Map(old.map((item) => [key(item), item]));
  return fresh.map((item) => {
    const prior = before.get(key(item));
    return prior !== undefined && JSON.stringify(prior) === JSON.stringify(item) ? prior : item;
  });
}

const MAX_LIMIT = 1000;

export function usePagedList<T>(
  load: LoadPage<T>,
  deps: readonly unknown[],
  options: { key: (item: T) => string; pageSize?: number; intervalMs?: number },
): PagedList<T> {
  const pageSize = options.pageSize ?? 100;
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(options.key);
  keyRef.current = options.key;
  const shown = useRef<{ items: T[]; next: string | null }>({ items: [], next: null });
  const reading = useRef<"more" | "refresh" | null>(null);
  const queued = useRef(false);
  const moreWanted = useRef(false);
  const loadMoreRef = useRef<() => void>(() => undefined);
  const refreshRef = useRef<() => void>(() => undefined);

  /** The read in flight has ended: run what was asked for meanwhile, more first. */
  const readNext = useCallback(() => {
    reading.current = null;
    if (moreWanted.current) {
      moreWanted.current = false;
      setLoadingMore(false); // loadMore sets it again unless the refresh found the end
      loadMoreRef.current();
    } else if (queued.current) {
      queued.current = false;
      refreshRef.current();
    }
  }, []);

  const show = useCallback((list: T[], cursor: string | null) => {
    shown.current = { items: list, next: cursor };
    setItems(list);
    setNext(cursor);
  }, []);

  useEffect(() => {
    const mine = ++generation.current;
    reading.current = null;
    queued.current = false;
    moreWanted.current = false;
    setLoadingMore(false);
    setLoading(true);
    setError(undefined);
    show([], null);
    loadRef.current(undefined, pageSize).then(
      (page) => {
        if (mine !== generation.current) return;
        show(page.items, page.next ?? null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      generation.current++;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  const loadMore = useCallback(() => {
    const cursor = shown.current.next;
    if (cursor === null || reading.current === "more") return;
    setLoadingMore(true);
    if (reading.current === "refresh") {
      moreWanted.current = true;
      return;
    }
    const mine = generation.current;
    reading.current = "more";
    loadRef.current(cursor, pageSize)
      .then(
        (page) => {
          if (mine !== generation.current) return;
          const seen = new Set(shown.current.items.map(keyRef.current));
          const added = page.items.filter((item) => !seen.has(keyRef.current(item)));
          show([...shown.current.items, ...added], page.next ?? null);
          setError(undefined);
        },
        (err: unknown) => {
          if (mine === generation.current) setError(err);
        },
      )
      .finally(() => {
        if (mine !== generation.current) return;
        setLoadingMore(false);
        readNext();
      });
  }, [pageSize, show, readNext]);
  loadMoreRef.current = loadMore;

  const refresh = useCallback(() => {
    if (reading.current !== null) {
      queued.current = true;
      return;
    }
    const mine = generation.current;
    reading.current = "refresh";
    (async () => {
      // Re-read as many items as are shown (at least one page), in pages of up to MAX_LIMIT.
      const want = Math.max(pageSize, shown.current.items.length);
      let fresh: T[] = [];
      let cursor: string | undefined = undefined;
      let more: string | null = null;
      do {
        const page: Page<T> = await loadRef.current(cursor, Math.min(MAX_LIMIT, want - fresh.length));
        fresh = [...fresh, ...page.items];
        more = page.next ?? null;
        cursor = more ?? undefined;
      } while (more !== null && fresh.length < want);
      return { fresh, more };
    })()
      .then(
        ({ fresh, more }) => {
          if (mine !== generation.current) return;
          show(keepIdentity(shown.current.items, fresh, keyRef.current), more);
          setError(undefined);
        },
        (err: unknown) => {
          if (mine === generation.current) setError(err);
        },
      )
      .finally(() => {
        if (mine !== generation.current) return;
        readNext();
      });
  }, [pageSize, show, readNext]);
  refreshRef.current = refresh;

  useEffect(() => {
    if (!options.intervalMs) return;
    const timer = setInterval(refresh, options.intervalMs);
    return () => clearInterval(timer);
  }, [options.intervalMs, refresh]);

  return { items, loading, loadingMore, hasMore: next !== null, error, loadMore, refresh };
}
