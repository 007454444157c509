#!/usr/bin/env node
/**
 * npm run check:api — checks the console's API client types against lcd's OpenAPI schema.
 *
 * Where the schema comes from, first match wins:
 *   1. $LC_OPENAPI: a file path or an http(s) URL (e.g. http://127.0.0.1:8080/api/openapi.json);
 *   2. ../api/openapi.json, if the API exports one;
 *   3. generated from the API's code: `uv run python -c "... create_app(ApiSettings()) ..."`.
 * Then openapi-typescript writes .openapi/schema.ts (answers) and .openapi/schema-input.ts (request
 * bodies, where defaulted fields are optional) and tsc compiles scripts/openapi-check.ts.
 * It also lists the paths the client calls that the schema lacks.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(root, ".openapi");
const jsonPath = resolve(outDir, "openapi.json");
mkdirSync(outDir, { recursive: true });

const DUMP = [
  "import json",
  "from lc_api.server import create_app, _openapi",
  "from lc_api.settings import ApiSettings",
  "print(json.dumps(_openapi(create_app(ApiSettings()))))",
].join("\n");

async function loadSchema() {
  const source = process.env.LC_OPENAPI;
  if (source && /^https?:\/\//.test(source)) {
    const headers = {};
    if (process.env.LC_E2E_USERNAME && process.env.LC_E2E_PASSWORD) {
      headers.Authorization = `Basic ${Buffer.from(`${process.env.LC_E2E_USERNAME}:${process.env.LC_E2E_PASSWORD}`).toString("base64")}`;
    }
    const response = await fetch(source, { headers });
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    return { text: await response.text(), from: source };
  }
  if (source) return { text: readFileSync(resolve(source), "utf8"), from: source };
  const exported = resolve(root, "../api/openapi.json");
  if (existsSync(exported)) return { text: readFileSync(exported, "utf8"), from: exported };
  const text = execFileSync("uv", ["run", "--quiet", "python", "-c", DUMP], {
    cwd: resolve(root, "../.."),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  return { text, from: "lc_api.server.create_app (uv run)" };
}

const { text, from } = await loadSchema();
const schema = JSON.parse(text);
writeFileSync(jsonPath, JSON.stringify(schema, null, 1));
console.log(`check:api: schema from ${from} (${Object.keys(schema.paths ?? {}).length} paths)`);

const bin = (name) => resolve(root, "node_modules/.bin", name);
// Answers carry every field that has a default; request bodies may leave those out.
execFileSync(bin("openapi-typescript"), [jsonPath, "-o", resolve(outDir, "schema.ts")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
execFileSync(bin("openapi-typescript"), [jsonPath, "--default-non-nullable=false", "-o", resolve(outDir, "schema-input.ts")], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});

// Paths the client calls (src/api/client.ts) that the schema does not declare.
const called = [
  "/api/v1/config", "/api/v1/auth/me", "/api/v1/auth/login", "/api/v1/auth/logout",
  "/api/v1/projects", "/api/v1/projects/{slug}", "/api/v1/projects/{slug}/services",
  "/api/v1/projects/{slug}/services/{name}", "/api/v1/projects/{slug}/services/{name}/revisions",
  "/api/v1/projects/{slug}/services/{name}/rollback", "/api/v1/domains", "/api/v1/domains/{domain_id}",
  "/api/v1/domains/{domain_id}/verify", "/api/v1/events", "/api/v1/events/stream", "/api/v1/metrics",
  "/api/v1/fleet", "/api/v1/fleet/stream", "/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}",
  "/api/v1/webhooks/{webhook_id}/deliveries",
];
const missing = called.filter((p) => !(p in (schema.paths ?? {})));
if (missing.length) console.log(`check:api: not in the schema yet: ${missing.join(", ")}`);

try {
  execFileSync(bin("tsc"), ["--noEmit", "-p", "tsconfig.check-api.json"], { cwd: root, stdio: "inherit" });
} catch {
  console.error("check:api: the console's API types disagree with the OpenAPI schema (errors above)");
  process.exit(1);
}
console.log("check:api: the client's types agree with the schema");
