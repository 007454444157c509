import { describe, expect, it, vi } from "vitest";
import { ApiClient } from "./client";
import { ApiError, describeError, fieldPath, formErrorsOf } from "./problem";
import { fakeFetch, problem } from "../test/fakes";

describe("ApiClient", () => {
  it("unwraps paged lists and sends no body on GET", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/v1/projects": { body: { items: [{ slug: "default", name: "Default", version: 1, serviceCount: 0 }], next: null } },
    });
    const api = new ApiClient({ fetch });
    const projects = await api.listProjects();
    expect(projects.map((p) => p.slug)).toEqual(["default"]);
    expect(calls[0]!.body).toBeUndefined();
    expect(calls[0]!.headers["Idempotency-Key"]).toBeUndefined();
    // Without it lcd's 401 carries a Basic challenge and the browser pops its own dialog.
    expect(calls[0]!.headers["X-Requested-With"]).toBe("XMLHttpRequest");
  });

  it("follows `next` to list every project for a picker", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/v1/projects": (call) => ({
        body: call.url.includes("after=b") ? { items: [{ slug: "c" }], next: null } : { items: [{ slug: "a" }, { slug: "b" }], next: "b" },
      }),
    });
    const projects = await new ApiClient({ fetch }).listProjects();
    expect(projects.map((p) => p.slug)).toEqual(["a", "b", "c"]);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/projects?sort=name&limit=1000", "/api/v1/projects?sort=name&after=b&limit=1000"]);
  });

  it("accepts a bare array too (revisions)", async () => {
    const { fetch } = fakeFetch({
      "GET /api/v1/projects/p/services/s/revisions": { body: [{ revision: 1, spec: {}, createdAt: "2024-01-01T00:00:00Z" }] },
    });
    expect(await new ApiClient({ fetch }).listRevisions("p", "s")).toHaveLength(1);
  });

  it("posts JSON with an Idempotency-Key per request", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/v1/projects": { status: 201, body: { slug: "a", name: "A" } } });
    let n = 0;
    const api = new ApiClient({ fetch, newKey: () => `key-${++n}` });
    await api.createProject({ name: "A", slug: "a" });
    await api.createProject({ name: "A", slug: "a" });
    expect(calls.map((c) => c.headers["Idempotency-Key"])).toEqual(["key-1", "key-2"]);
    expect(calls[0]!.headers["Content-Type"]).toBe("application/json");
    expect(calls[0]!.body).toEqual({ name: "A", slug: "a" });
  });

  it("turns problem+json into an ApiError with field errors keyed by body path", async () => {
    const { fetch } = fakeFetch({
      "POST /api/v1/projects/p/services": problem(422, "the request has invalid fields", [
        { pointer: "/kind/model/modelName", detail: "String should match pattern '^[A-Za-z0-9]'" },
        { pointer: "/name", detail: "Value error, must be 1 to 40 characters long" },
        { pointer: "", detail: "Value error, tier 'inference' needs kind.model" },
      ]),
    });
    const api = new ApiClient({ fetch });
    const err = await api.createService("p", { name: "", tier: "inference", kind: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(422);
    expect(e.fieldErrors).toEqual({
      "kind.model.modelName": "String should match pattern '^[A-Za-z0-9]'",
      name: "must be 1 to 40 characters long",
      "": "tier 'inference' needs kind.model",
    });
    expect(describeError(e)).toContain("tier 'inference' needs kind.model");
    const shown = formErrorsOf(e);
    expect(shown.fields.name).toBe("must be 1 to 40 characters long");
    expect(shown.form).toEqual(["tier 'inference' needs kind.model"]);
  });

  it("shows an error with no field above the form", () => {
    expect(formErrorsOf(new TypeError("Failed to fetch"))).toEqual({
      fields: {},
      form: ["Cannot reach the API. Is the stack running?"],
    });
  });

  it("reports a 401 outside /auth to onUnauthorized", async () => {
    const onUnauthorized = vi.fn();
    const { fetch } = fakeFetch({
      "GET /api/v1/fleet": { status: 401, body: { title: "Authentication required", status: 401 } },
      "GET /api/v1/auth/me": { status: 401, body: { title: "Authentication required", status: 401 } },
    });
    const api = new ApiClient({ fetch, onUnauthorized });
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).not.toHaveBeenCalled();
    await expect(api.fleet()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("builds the audit-log query and keeps the cursor", async () => {
    const { fetch, calls } = fakeFetch({
      "GET /api/v1/events": { body: { items: [{ seq: 3, id: "e3", type: "project.created", time: "t", data: {} }], next: "3" } },
    });
    const page = await new ApiClient({ fetch }).events({ after: "2", limit: 50, type: "project", project: "default" });
    expect(calls[0]!.url).toBe("/api/v1/events?after=2&limit=50&type=project&project=default");
    expect(page.next).toBe("3");
    expect(page.items[0]!.seq).toBe(3);
  });

  it("survives a non-JSON error body", async () => {
    const fetch = async () => new Response("Bad gateway", { status: 502, statusText: "Bad Gateway" });
    const err = (await new ApiClient({ fetch }).fleet().catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(502);
    expect(err.problem.detail).toBe("Bad gateway");
  });

  it("encodes path segments", async () => {
    const { fetch, calls } = fakeFetch({ "DELETE /api/v1/domains/a%2Fb": { status: 204 } });
    await new ApiClient({ fetch }).deleteDomain("a/b");
    expect(calls[0]!.url).toBe("/api/v1/domains/a%2Fb");
  });
});

describe("fieldPath", () => {
  it("reads JSON pointers, FastAPI locations and dotted paths", () => {
    expect(fieldPath("/kind/container/ports/0/port")).toBe("kind.container.ports.0.port");
    expect(fieldPath("#/a~1b")).toBe("a/b");
    expect(fieldPath(["body", "kind", "model", "dtype"])).toBe("kind.model.dtype");
    expect(fieldPath("kind.model")).toBe("kind.model");
    expect(fieldPath("")).toBe("");
  });
});
