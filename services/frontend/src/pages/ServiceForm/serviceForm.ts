/**
 * The service form's state and its translation to and from a `ServiceSpec`. Inputs hold
 * strings; numbers and lists are parsed here, and a value that does not parse gets the
 * same message the API would give.
 */
import type { Dtype, Endpoint, PortSpec, ServiceSpec, Tier } from "../../api/types";
import { msg } from "../../validation/specs";
import type { FieldErrors } from "../../validation/specs";

export interface PortRow {
  port: string;
  name: string;
  protocol: "TCP" | "UDP";
}

export interface EnvRow {
  name: string;
  value: string;
}

export interface ServiceFormState {
  name: string;
  tier: Tier;
  expose: boolean;
  // inference
  modelName: string;
  dtype: Dtype;
  endpoints: Endpoint[];
  modelGpus: string;
  modelReplicas: string;
  modelArgs: string;
  // containers
  image: string;
  command: string;
  args: string;
  ports: PortRow[];
  env: EnvRow[];
  replicas: string;
  cpu: string;
  memory: string;
  gpus: string;
  storageEnabled: boolean;
  storageSize: string;
  storageClass: string;
}

export const emptyForm: ServiceFormState = {
  name: "",
  tier: "inference",
  expose: true,
  modelName: "",
  dtype: "auto",
  endpoints: ["chat_completions", "completions"],
  modelGpus: "",
  modelReplicas: "",
  modelArgs: "",
  image: "",
  command: "",
  args: "",
  ports: [],
  env: [],
  replicas: "1",
  cpu: "",
  memory: "",
  gpus: "",
  storageEnabled: false,
  storageSize: "10Gi",
  storageClass: "",
};

/** One list item per non-empty line. */
export function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function intOrUndefined(errors: FieldErrors, path: string, raw: string): number | undefined {
  const s = raw.trim();
  if (s === "") return undefined;
  if (!/^[+-]?\d+$/.test(s)) {
    errors[path] = msg.int;
    return undefined;
  }
  return Number(s);
}

/** The spec the form describes, plus errors for values that are not even well-formed. */
export function toSpec(f: ServiceFormState): { spec: ServiceSpec; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const spec: ServiceSpec = { name: f.name.trim(), tier: f.tier, kind: {} };
  if (!f.expose) spec.expose = false;
  if (f.tier === "inference") {
    const gpus = intOrUndefined(errors, "kind.model.gpus", f.modelGpus);
    const replicas = intOrUndefined(errors, "kind.model.replicas", f.modelReplicas);
    const args = lines(f.modelArgs);
    spec.kind.model = {
      modelName: f.modelName.trim(),
      dtype: f.dtype,
      endpoints: [...f.endpoints],
      ...(gpus !== undefined ? { gpus } : {}),
      ...(replicas !== undefined ? { replicas } : {}),
      ...(args.length ? { args } : {}),
    };
  } else {
    const p = "kind.container";
    const ports: PortSpec[] = [];
    f.ports.forEach((row, i) => {
      const port = intOrUndefined(errors, `${p}.ports.${i}.port`, row.port);
      if (port === undefined && !errors[`${p}.ports.${i}.port`]) errors[`${p}.ports.${i}.port`] = "Field required";
      ports.push({ port: port ?? NaN, ...(row.name.trim() ? { name: row.name.trim() } : {}), protocol: row.protocol });
    });
    const replicas = intOrUndefined(errors, `${p}.replicas`, f.replicas);
    const gpus = f.tier === "gpu" ? intOrUndefined(errors, `${p}.resources.gpus`, f.gpus) : undefined;
    const command = lines(f.command);
    const args = lines(f.args);
    const resources = {
      ...(f.cpu.trim() ? { cpu: f.cpu.trim() } : {}),
      ...(f.memory.trim() ? { memory: f.memory.trim() } : {}),
      ...(gpus !== undefined ? { gpus } : {}),
    };
    spec.kind.container = {
      image: f.image.trim(),
      ...(command.length ? { command } : {}),
      ...(args.length ? { args } : {}),
      ...(f.env.length ? { env: f.env.map((e) => ({ name: e.name.trim(), value: e.value })) } : {}),
      ports,
      ...(Object.keys(resources).length ? { resources } : {}),
      ...(replicas !== undefined ? { replicas } : {}),
      ...(f.storageEnabled
        ? {
            storage: {
              size: f.storageSize.trim() || "10Gi",
              ...(f.storageClass.trim() ? { storageClass: f.storageClass.trim() } : {}),
            },
          }
        : {}),
    };
  }
  return { spec, errors };
}

/** The form for an existing spec (the edit page starts from the current revision). */
export function fromSpec(spec: ServiceSpec): ServiceFormState {
  const f: ServiceFormState = { ...emptyForm, name: spec.name, tier: spec.tier, expose: spec.expose !== false };
  const m = spec.kind.model;
  if (m) {
    f.modelName = m.modelName;
    f.dtype = m.dtype ?? "auto";
    f.endpoints = m.endpoints ?? ["chat_completions", "completions"];
    f.modelGpus = m.gpus != null ? String(m.gpus) : "";
    f.modelReplicas = m.replicas != null ? String(m.replicas) : "";
    f.modelArgs = (m.args ?? []).join("\n");
  }
  const c = spec.kind.container;
  if (c) {
    f.image = c.image;
    f.command = (c.command ?? []).join("\n");
    f.args = (c.args ?? []).join("\n");
    f.ports = (c.ports ?? []).map((p) => ({ port: String(p.port), name: p.name ?? "", protocol: p.protocol ?? "TCP" }));
    f.env = (c.env ?? []).map((e) => ({ name: e.name, value: e.value ?? "" }));
    f.replicas = c.replicas != null ? String(c.replicas) : "1";
    f.cpu = c.resources?.cpu ?? "";
    f.memory = c.resources?.memory ?? "";
    f.gpus = c.resources?.gpus != null ? String(c.resources.gpus) : "";
    f.storageEnabled = !!c.storage;
    f.storageSize = c.storage?.size ?? "10Gi";
    f.storageClass = c.storage?.storageClass ?? "";
  }
  return f;
}

/** The body paths the form has an input for; other errors are shown above the form. */
export function placedPaths(f: ServiceFormState): Set<string> {
  const out = new Set(["name", "tier", "expose"]);
  if (f.tier === "inference") {
    for (const k of ["modelName", "dtype", "endpoints", "gpus", "replicas", "args"]) out.add(`kind.model.${k}`);
  } else {
    const p = "kind.container";
    for (const k of ["image", "command", "args", "replicas", "resources.cpu", "resources.memory", "resources.gpus", "storage.size", "storage.storageClass"]) {
      out.add(`${p}.${k}`);
    }
    f.ports.forEach((_, i) => ["port", "name", "protocol"].forEach((k) => out.add(`${p}.ports.${i}.${k}`)));
    f.env.forEach((_, i) => ["name", "value"].forEach((k) => out.add(`${p}.env.${i}.${k}`)));
  }
  return out;
}

/** Errors without an input of their own, worded with where they belong. */
export function unplacedErrors(errors: FieldErrors, f: ServiceFormState): string[] {
  const placed = placedPaths(f);
  return Object.entries(errors)
    .filter(([path]) => !placed.has(path))
    .map(([path, message]) => (path ? `${path}: ${message}` : message));
}
