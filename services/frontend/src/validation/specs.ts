/**
 * The console's copy of the rules in `lc_contracts` (specs.py, names.py, fqdn.py), with the
 * same messages the API answers in problem+json `errors[]`, so a user sees the problem
 * before submitting. The API stays the judge: its field errors are shown the same way.
 *
 * Each validator returns a map from a dotted body path to a message; empty means valid.
 */

import { DTYPES, ENDPOINTS, TIERS } from "../api/types";
import type { ContainerKind, DomainCreate, ModelKind, ProjectCreate, ServiceSpec } from "../api/types";

export type FieldErrors = Record<string, string>;

export const MAX_REPLICAS = 100;
export const MAX_GPUS_PER_REPLICA = 16;
export const PROJECT_SLUG_MAX = 40;
export const SERVICE_NAME_MAX = 40;
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;
const QUANTITY_SRC = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$";
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const MODEL_NAME_SRC = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$";
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IMAGE_REF = new RegExp(
  "^(?:(?<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?" +
    "(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)" +
    "(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?" +
    "(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$",
);
const RESERVED_SLUGS = new Set(["liquidcompute-system", "kube-system", "kube-public", "kube-node-lease"]);
const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

// ---- messages as pydantic words them ------------------------------------------------------

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
export const msg = {
  minStr: (n: number) => `String should have at least ${plural(n, "character")}`,
  maxStr: (n: number) => `String should have at most ${plural(n, "character")}`,
  pattern: (p: string) => `String should match pattern '${p}'`,
  ge: (n: number) => `Input should be greater than or equal to ${n}`,
  le: (n: number) => `Input should be less than or equal to ${n}`,
  int: "Input should be a valid integer, unable to parse string as an integer",
  minList: (n: number, got: number) => `List should have at least ${plural(n, "item")} after validation, not ${got}`,
  maxList: (n: number, got: number) => `List should have at most ${plural(n, "item")} after validation, not ${got}`,
  enumOf: (values: readonly string[]) =>
    `Input should be ${values
      .slice(0, -1)
      .map((v) => `'${v}'`)
      .join(", ")} or '${values[values.length - 1]}'`,
};

export function dns1123Label(value: string, maxLength: number): string | null {
  if (value.length < 1 || value.length > maxLength) return `must be 1 to ${maxLength} characters long`;
  if (!DNS1123_LABEL.test(value)) {
    return "must be lowercase letters, digits and '-', starting and ending with a letter or digit";
  }
  return null;
}

export function projectSlugError(value: string): string | null {
  const label = dns1123Label(value, PROJECT_SLUG_MAX);
  if (label) return label;
  if (RESERVED_SLUGS.has(value) || value.startsWith("kube-")) {
    return `'${value}' is reserved for the cluster or the platform`;
  }
  return null;
}

export function serviceNameError(value: string): string | null {
  return dns1123Label(value, SERVICE_NAME_MAX);
}

export function imageRefError(value: string): string | null {
  if (value.length > 512 || !IMAGE_REF.test(value)) return "is not a valid container image reference";
  return null;
}

export function envVarNameError(value: string): string | null {
  if (!ENV_VAR_NAME.test(value)) return "must start with a letter or '_' and hold only letters, digits and '_'";
  return null;
}

/** Mirrors `lc_contracts.fqdn.normalise_fqdn` for ASCII names (IDNA is left to the API). */
export function fqdnError(value: string): string | null {
  const name = value.trim().replace(/\.+$/, "").toLowerCase();
  if (!name) return "must not be empty";
  if (name.includes("*")) return "wildcard domains are not supported";
  // Non-ASCII names are IDNA-encoded by the API; leave their judgement to it.
  if (/[^\x00-\x7f]/.test(name)) return null;
  const labels = name.split(".");
  if (labels.length < 2) return "must have at least two labels, like 'app.example.com'";
  if (name.length > 253) return "must be at most 253 characters";
  for (const label of labels) {
    if (!LDH_LABEL.test(label)) return `label '${label}' must be 1-63 letters, digits or '-'`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) return "must be a domain name, not an IP address";
  return null;
}

function intRange(errors: FieldErrors, path: string, value: number | null | undefined, min: number, max: number) {
  if (value === null || value === undefined) return;
  if (!Number.isInteger(value)) errors[path] = msg.int;
  else if (value < min) errors[path] = msg.ge(min);
  else if (value > max) errors[path] = msg.le(max);
}

function quantity(errors: FieldErrors, path: string, value: string | null | undefined) {
  if (value === null || value === undefined) return;
  if (value.length > 32) errors[path] = msg.maxStr(32);
  else if (!QUANTITY.test(value)) errors[path] = msg.pattern(QUANTITY_SRC);
}

function set(errors: FieldErrors, path: string, message: string | null) {
  if (message && !(path in errors)) errors[path] = message;
}

// ---- bodies ----------------------------------------------------------------------------------

export function validateProject(body: ProjectCreate): FieldErrors {
  const errors: FieldErrors = {};
  if (body.name.length < 1) errors.name = msg.minStr(1);
  else if (body.name.length > 100) errors.name = msg.maxStr(100);
  set(errors, "slug", projectSlugError(body.slug));
  return errors;
}

export function validateProjectName(name: string): FieldErrors {
  if (name.length < 1) return { name: msg.minStr(1) };
  if (name.length > 100) return { name: msg.maxStr(100) };
  return {};
}

export function validateDomain(body: DomainCreate): FieldErrors {
  const errors: FieldErrors = {};
  set(errors, "fqdn", fqdnError(body.fqdn));
  set(errors, "projectSlug", projectSlugError(body.projectSlug));
  set(errors, "serviceName", serviceNameError(body.serviceName));
  return errors;
}

function validateModel(errors: FieldErrors, m: ModelKind) {
  const p = "kind.model";
  if (m.modelName.length < 1) errors[`${p}.modelName`] = msg.minStr(1);
  else if (m.modelName.length > 200) errors[`${p}.modelName`] = msg.maxStr(200);
  else if (!MODEL_NAME.test(m.modelName)) errors[`${p}.modelName`] = msg.pattern(MODEL_NAME_SRC);
  if (m.dtype !== undefined && !DTYPES.includes(m.dtype)) errors[`${p}.dtype`] = msg.enumOf(DTYPES);
  const endpoints = m.endpoints ?? [];
  if (m.endpoints !== undefined) {
    if (endpoints.length < 1) errors[`${p}.endpoints`] = msg.minList(1, 0);
    else if (new Set(endpoints).size !== endpoints.length) errors[`${p}.endpoints`] = "must not repeat a value";
    else if (endpoints.some((e) => !ENDPOINTS.includes(e))) errors[`${p}.endpoints`] = msg.enumOf(ENDPOINTS);
  }
  intRange(errors, `${p}.gpus`, m.gpus, 1, MAX_GPUS_PER_REPLICA);
  intRange(errors, `${p}.replicas`, m.replicas, 0, MAX_REPLICAS);
  if (m.args && m.args.length > 64) errors[`${p}.args`] = msg.maxList(64, m.args.length);
}

function validateContainer(errors: FieldErrors, c: ContainerKind) {
  const p = "kind.container";
  set(errors, `${p}.image`, imageRefError(c.image));
  if (c.command && c.command.length > 64) errors[`${p}.command`] = msg.maxList(64, c.command.length);
  if (c.args && c.args.length > 64) errors[`${p}.args`] = msg.maxList(64, c.args.length);
  const ports = c.ports ?? [];
  ports.forEach((port, i) => {
    intRange(errors, `${p}.ports.${i}.port`, port.port, 1, 65535);
    if (port.name) set(errors, `${p}.ports.${i}.name`, dns1123Label(port.name, 15));
  });
  const env = c.env ?? [];
  env.forEach((e, i) => set(errors, `${p}.env.${i}.name`, envVarNameError(e.name)));
  intRange(errors, `${p}.replicas`, c.replicas, 0, MAX_REPLICAS);
  if (c.resources) {
    quantity(errors, `${p}.resources.cpu`, c.resources.cpu);
    quantity(errors, `${p}.resources.memory`, c.resources.memory);
    intRange(errors, `${p}.resources.gpus`, c.resources.gpus, 1, MAX_GPUS_PER_REPLICA);
  }
  if (c.storage) quantity(errors, `${p}.storage.size`, c.storage.size);
  const portKeys = ports.map((x) => `${x.port}/${x.protocol ?? "TCP"}`);
  const portNames = ports.map((x) => x.name).filter((n): n is string => !!n);
  if (new Set(portKeys).size !== portKeys.length || new Set(portNames).size !== portNames.length) {
    set(errors, p, "ports must be unique");
  }
  const envNames = env.map((e) => e.name);
  if (new Set(envNames).size !== envNames.length) set(errors, p, "env must be unique");
}

export function validateService(spec: ServiceSpec): FieldErrors {
  const errors: FieldErrors = {};
  set(errors, "name", serviceNameError(spec.name));
  if (!TIERS.includes(spec.tier)) errors.tier = msg.enumOf(TIERS);
  const { model, container } = spec.kind;
  if (model) validateModel(errors, model);
  if (container) validateContainer(errors, container);
  if ((model == null) === (container == null)) {
    set(errors, "kind", "kind must hold exactly one of 'model' or 'container'");
  } else if (spec.tier === "inference" && !model) {
    set(errors, "", "tier 'inference' needs kind.model");
  } else if (spec.tier !== "inference" && !container) {
    set(errors, "", `tier '${spec.tier}' needs kind.container`);
  } else if (spec.tier === "cpu" && container?.resources?.gpus) {
    set(errors, "", "tier 'cpu' cannot request GPUs; use tier 'gpu'");
  }
  return errors;
}
