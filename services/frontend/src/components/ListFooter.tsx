/**
 * The end of a paged list: how much is shown, announced to screen readers, and a
 * "Show more" button that also fires by itself when it scrolls into view.
 */
import { useEffect, useRef } from "react";

export function ListFooter({
  shown,
  noun,
  hasMore,
  loadingMore,
  onMore,
}: {
  shown: number;
  noun: string;
  hasMore: boolean;
  loadingMore: boolean;
  onMore: () => void;
}) {
  const button = useRef<HTMLButtonElement>(null);
  const onMoreRef = useRef(onMore);
  onMoreRef.current = onMore;

  useEffect(() => {
    const target = button.current;
    if (!hasMore || !target || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) onMoreRef.current();
      },
      { rootMargin: "600px 0px" },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasMore, shown]);

  return (
    <div className="list-footer">
      <p className="muted" role="status" aria-live="polite">
        {`Showing ${shown} ${noun}${hasMore ? "; more available" : ""}.`}
      </p>
      {hasMore && (
        <button ref={button} type="button" className="btn" onClick={onMore} disabled={loadingMore}>
          {loadingMore ? "Loading…" : `Show more ${noun}`}
        </button>
      )}
    </div>
  );
}
