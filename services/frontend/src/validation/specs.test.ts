import { describe, expect, it } from "vitest";
import { fqdnError, projectSlugError, validateDomain, validateProject, validateService } from "./specs";

describe("project rules", () => {
  it("mirrors the slug messages of lc_contracts", () => {
    expect(projectSlugError("default")).toBeNull();
    expect(projectSlugError("")).toBe("must be 1 to 40 characters long");
    expect(projectSlugError("a".repeat(41))).toBe("must be 1 to 40 characters long");
    expect(projectSlugError("Bad_Slug")).toBe(
      "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
    expect(projectSlugError("kube-system")).toBe("'kube-system' is reserved for the cluster or the platform");
    expect(projectSlugError("kube-foo")).toBe("'kube-foo' is reserved for the cluster or the platform");
    expect(projectSlugError("liquidcompute-system")).toMatch(/reserved/);
  });

  it("checks the name length", () => {
    expect(validateProject({ name: "", slug: "ok" })).toEqual({ name: "String should have at least 1 character" });
    expect(validateProject({ name: "x".repeat(101), slug: "ok" })).toEqual({ name: "String should have at most 100 characters" });
  });
});

describe("service rules", () => {
  it("accepts the product docs' inference service", () => {
    expect(
      validateService({
        name: "llama-3-8b",
        tier: "inference",
        kind: { model: { modelName: "meta-llama/Llama-3.1-8B-Instruct", dtype: "bfloat16", endpoints: ["chat_completions", "completions"] } },
      }),
    ).toEqual({});
  });

  it("accepts the product docs' cpu service", () => {
    expect(
      validateService({
        name: "hello",
        tier: "cpu",
        kind: { container: { image: "hashicorp/http-echo:latest", command: ["/http-echo", "-text=hi", "-listen=:8080"], ports: [{ port: 8080, name: "http" }] } },
      }),
    ).toEqual({});
  });

  it("reports each field under its body path", () => {
    const errors = validateService({
      name: "Bad Name",
      tier: "gpu",
      kind: {
        container: {
          image: "UPPER/Case",
          ports: [{ port: 70000, name: "a-very-long-port-name" }],
          env: [{ name: "1BAD" }],
          replicas: 101,
          resources: { cpu: "lots", gpus: 17 },
          storage: { size: "ten" },
        },
      },
    });
    expect(errors).toMatchObject({
      name: "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
      "kind.container.image": "is not a valid container image reference",
      "kind.container.ports.0.port": "Input should be less than or equal to 65535",
      "kind.container.ports.0.name": "must be 1 to 15 characters long",
      "kind.container.env.0.name": "must start with a letter or '_' and hold only letters, digits and '_'",
      "kind.container.replicas": "Input should be less than or equal to 100",
      "kind.container.resources.gpus": "Input should be less than or equal to 16",
    });
    expect(errors["kind.container.resources.cpu"]).toMatch(/^String should match pattern/);
    expect(errors["kind.container.storage.size"]).toMatch(/^String should match pattern/);
  });

  it("checks endpoints, uniqueness and tier/kind agreement", () => {
    expect(validateService({ name: "m", tier: "inference", kind: { model: { modelName: "x", endpoints: [] } } })).toEqual({
      "kind.model.endpoints": "List should have at least 1 item after validation, not 0",
    });
    expect(
      validateService({ name: "m", tier: "inference", kind: { model: { modelName: "x", endpoints: ["completions", "completions"] } } }),
    ).toEqual({ "kind.model.endpoints": "must not repeat a value" });
    expect(validateService({ name: "c", tier: "cpu", kind: { container: { image: "nginx", ports: [{ port: 80 }, { port: 80 }] } } })).toEqual({
      "kind.container": "ports must be unique",
    });
    expect(validateService({ name: "c", tier: "cpu", kind: { container: { image: "nginx", resources: { gpus: 1 } } } })).toEqual({
      "": "tier 'cpu' cannot request GPUs; use tier 'gpu'",
    });
    expect(validateService({ name: "c", tier: "inference", kind: { container: { image: "nginx" } } })).toEqual({
      "": "tier 'inference' needs kind.model",
    });
  });
});

describe("domain rules", () => {
  it("mirrors normalise_fqdn", () => {
    expect(fqdnError("Chat.Acme.com.")).toBeNull();
    expect(fqdnError("")).toBe("must not be empty");
    expect(fqdnError("*.acme.com")).toBe("wildcard domains are not supported");
    expect(fqdnError("localhost")).toBe("must have at least two labels, like 'app.example.com'");
    expect(fqdnError("-bad.acme.com")).toBe("label '-bad' must be 1-63 letters, digits or '-'");
    expect(fqdnError("10.0.0.1")).toBe("must be a domain name, not an IP address");
  });

  it("validates the registration body", () => {
    expect(validateDomain({ fqdn: "chat.acme.com", projectSlug: "default", serviceName: "llama-3-8b" })).toEqual({});
    expect(validateDomain({ fqdn: "x", projectSlug: "default", serviceName: "" })).toEqual({
      fqdn: "must have at least two labels, like 'app.example.com'",
      serviceName: "must be 1 to 40 characters long",
    });
  });
});
