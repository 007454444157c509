import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Page } from "../api/types";
import { keepIdentity, usePagedList } from "./usePagedList";

describe("keepIdentity", () => {
  it("keeps the objects that did not change, so their rows do not re-render", () => {
    const a = { id: "a", n: 1 };
    const b = { id: "b", n: 1 };
    const fresh = keepIdentity([a, b], [{ id: "a", n: 1 }, { id: "b", n: 2 }, { id: "c", n: 0 }], (x) => x.id);
    expect(fresh[0]).toBe(a);
    expect(fresh[1]).not.toBe(b);
    expect(fresh[1]).toEqual({ id: "b", n: 2 });
    expect(fresh[2]).toEqual({ id: "c", n: 0 });
  });
});

interface Item {
  id: string;
}

/** A loader whose reads stay pending until the test answers them, in order. */
function heldLoader() {
  const calls: { after: string | undefined; answer: (page: Page<Item>) => void }[] = [];
  const load = (after: string | undefined) =>
    new Promise<Page<Item>>((resolve) => {
      calls.push({ after, answer: resolve });
    });
  const answer = (index: number, page: Page<Item>) => {
    const call = calls[index];
    if (!call) throw new Error(`read ${index} was never asked for`);
    call.answer(page);
  };
  return { calls, load, answer };
}

const page = (ids: string[], next?: string): Page<Item> => ({ items: ids.map((id) => ({ id })), next });

describe("usePagedList", () => {
  it("loads the next page asked for while a refresh was reading, once the refresh ends", async () => {
    const { calls, load, answer } = heldLoader();
    const { result } = renderHook(() => usePagedList<Item>(load, [], { key: (i) => i.id }));
    await act(async () => answer(0, page(["a", "b"], "after-b")));
    expect(result.current.hasMore).toBe(true);

    act(() => result.current.refresh());
    expect(calls).toHaveLength(2);
    act(() => result.current.loadMore()); // a live event's refresh is still reading
    expect(calls).toHaveLength(2);
    expect(result.current.loadingMore).toBe(true);

    await act(async () => answer(1, page(["a", "b"], "after-b")));
    await waitFor(() => expect(calls).toHaveLength(3));
    expect(calls[2]?.after).toBe("after-b");
    await act(async () => answer(2, page(["c"])));
    expect(result.current.items.map((i) => i.id)).toEqual(["a", "b", "c"]);
    expect(result.current.hasMore).toBe(false);
    expect(result.current.loadingMore).toBe(false);
  });

  it("reads one more page however often the footer asks while it is loading", async () => {
    const { calls, load, answer } = heldLoader();
    const { result } = renderHook(() => usePagedList<Item>(load, [], { key: (i) => i.id }));
    await act(async () => answer(0, page(["a"], "after-a")));
    act(() => {
      result.current.loadMore();
      result.current.loadMore();
    });
    await act(async () => answer(1, page(["b"], "after-b")));
    expect(calls).toHaveLength(2);
    expect(result.current.items.map((i) => i.id)).toEqual(["a", "b"]);
  });

  it("refreshes after a page load when a live event asked meanwhile", async () => {
    const { calls, load, answer } = heldLoader();
    const { result } = renderHook(() => usePagedList<Item>(load, [], { key: (i) => i.id }));
    await act(async () => answer(0, page(["a"], "after-a")));
    act(() => result.current.loadMore());
    act(() => result.current.refresh());
    expect(calls).toHaveLength(2);
    await act(async () => answer(1, page(["b"])));
    await waitFor(() => expect(calls).toHaveLength(3));
    expect(calls[2]?.after).toBeUndefined();
  });
});
