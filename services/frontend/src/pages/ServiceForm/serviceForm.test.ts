import { describe, expect, it } from "vitest";
import { emptyForm, fromSpec, toSpec, unplacedErrors } from "./serviceForm";
import type { ServiceSpec } from "../../api/types";

const llama: ServiceSpec = {
  name: "llama-3-8b",
  tier: "inference",
  kind: { model: { modelName: "meta-llama/Llama-3.1-8B-Instruct", dtype: "bfloat16", endpoints: ["chat_completions", "completions"] } },
};

const hello: ServiceSpec = {
  name: "hello",
  tier: "cpu",
  kind: {
    container: {
      image: "hashicorp/http-echo:latest",
      command: ["/http-echo", "-text=hi", "-listen=:8080"],
      ports: [{ port: 8080, name: "http", protocol: "TCP" }],
      replicas: 1,
    },
  },
};

describe("service form", () => {
  it("round-trips the product docs' services", () => {
    expect(toSpec(fromSpec(llama))).toEqual({ spec: llama, errors: {} });
    expect(toSpec(fromSpec(hello))).toEqual({ spec: hello, errors: {} });
  });

  it("parses one argument per line and drops blank lines", () => {
    const { spec } = toSpec({ ...emptyForm, name: "x", tier: "cpu", image: "nginx", command: " /bin/sh \n\n -c\necho hi " });
    expect(spec.kind.container?.command).toEqual(["/bin/sh", "-c", "echo hi"]);
  });

  it("reports numbers that are not integers with the API's message", () => {
    const { errors } = toSpec({ ...emptyForm, name: "x", tier: "gpu", image: "nginx", replicas: "two", gpus: "1.5", ports: [{ port: "", name: "", protocol: "TCP" }] });
    expect(errors).toEqual({
      "kind.container.replicas": "Input should be a valid integer, unable to parse string as an integer",
      "kind.container.resources.gpus": "Input should be a valid integer, unable to parse string as an integer",
      "kind.container.ports.0.port": "Field required",
    });
  });

  it("only sends GPUs for the gpu tier and storage when asked", () => {
    const cpu = toSpec({ ...emptyForm, name: "x", tier: "cpu", image: "nginx", gpus: "2" }).spec;
    expect(cpu.kind.container?.resources).toBeUndefined();
    expect(cpu.kind.container?.storage).toBeUndefined();
    const gpu = toSpec({ ...emptyForm, name: "x", tier: "gpu", image: "nginx", gpus: "2", storageEnabled: true, storageClass: "fast" }).spec;
    expect(gpu.kind.container?.resources).toEqual({ gpus: 2 });
    expect(gpu.kind.container?.storage).toEqual({ size: "10Gi", storageClass: "fast" });
  });

  it("sends expose only when it is turned off", () => {
    expect(toSpec({ ...emptyForm, name: "x", modelName: "m" }).spec.expose).toBeUndefined();
    expect(toSpec({ ...emptyForm, name: "x", modelName: "m", expose: false }).spec.expose).toBe(false);
  });

  it("lists errors that have no input of their own", () => {
    const form = fromSpec(hello);
    expect(
      unplacedErrors({ name: "bad", "kind.container": "ports must be unique", "": "tier 'cpu' cannot request GPUs; use tier 'gpu'", "kind.container.ports.0.port": "x" }, form),
    ).toEqual(["kind.container: ports must be unique", "tier 'cpu' cannot request GPUs; use tier 'gpu'"]);
  });
});
