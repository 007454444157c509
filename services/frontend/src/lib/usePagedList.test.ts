import { describe, expect, it } from "vitest";
import { keepIdentity } from "./usePagedList";

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
