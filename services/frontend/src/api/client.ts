/**
 * The typed client for lcd's `/api/v1`. Pages call it through `useApi()`; tests build one
 * with a fake `fetch`.
 *
 * Every non-2xx answer becomes an `ApiError` carrying the problem+json body. Requests send
 * the session cookie (same origin) and, for writes, an `Idempotency-Key` so a retried click
 * cannot apply twice.
 */

import { ApiError, toProblem } from "./problem";
import type {
  Accepted,
  AuditEvent,
  Credentials,
  Diff,
  DiffQuery,
  Domain,
  DomainCreate,
  EventPage,
  EventQuery,
  Fleet,
  Me,
  Metrics,
  Page,
  PlatformConfig,
  Project,
  ProjectCreate,
  ProjectQuery,
  ProjectState,
  ProjectUpdate,
  Revision,
  Secret,
  SecretCreate,
  SecretValue,
  Service,
  ServiceQuery,
  ServiceSpec,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
  WebhookReplay,
  WebhookSecret,
} from "./types";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Where `/api/v1` lives; "" means the page's own origin. */
  baseUrl?: string;
  fetch?: FetchLike;
  /** Called on any 401, so the app can send the user to sign in. */
  onUnauthorized?: () => void;
  newKey?: () => string;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

function randomKey(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Lists come back as `{items: [...]}`; a bare array is accepted too. */
function items<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body !== null && typeof body === "object") {
    const o = body as Record<string, unknown>;
    for (const key of ["items", "data", "results"]) {
      if (Array.isArray(o[key])) return o[key] as T[];
    }
  }
  return [];
}

/** A list answer as a page: its items and the cursor of the next page, if any. */
function page<T>(body: unknown): Page<T> {
  const out: Page<T> = { items: items<T>(body) };
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const next = (body as Record<string, unknown>).next;
    if (typeof next === "number" || typeof next === "string") out.next = String(next);
  }
  return out;
}

/** `?a=1&b=x&b=y` from defined values (arrays repeat the key); "" when nothing is set. */
function queryString(params: Record<string, string | number | readonly string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) search.append(key, v);
    else search.set(key, String(value));
  }
  const qs = search.toString();
  return qs ? `?${qs}` : "";
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly onUnauthorized: (() => void) | undefined;
  private readonly newKey: () => string;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/$/, "");
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onUnauthorized = options.onUnauthorized;
    this.newKey = options.newKey ?? randomKey;
  }

  /** Absolute URL of an API path (used for EventSource too). */
  url(path: string): string {
    return `${this.baseUrl}/api/v1${path}`;
  }

  async request<T>(method: Method, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const init: RequestInit = {
      method,
      credentials: "same-origin",
      // X-Requested-With: lcd then answers 401 without a Basic challenge, so the browser
      // shows the console's sign-in page instead of its own password dialog.
      headers: { Accept: "application/json, application/problem+json", "X-Requested-With": "XMLHttpRequest", ...headers },
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    if (method !== "GET") {
      (init.headers as Record<string, string>)["Idempotency-Key"] = this.newKey();
    }
    const response = await this.fetchImpl(this.url(path), init);
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      if (response.status === 401 && !path.startsWith("/auth/")) this.onUnauthorized?.();
      throw new ApiError(toProblem(response.status, response.statusText, parsed));
    }
    return parsed as T;
  }

  // ---- auth and config --------------------------------------------------------------
  config(): Promise<PlatformConfig> {
    return this.request("GET", "/config");
  }
  me(): Promise<Me> {
    return this.request("GET", "/auth/me");
  }
  login(credentials: Credentials): Promise<Me> {
    return this.request("POST", "/auth/login", credentials);
  }
  async logout(): Promise<void> {
    await this.request("POST", "/auth/logout");
  }

  // ---- projects -----------------------------------------------------------------------
  /** Every project (following `next`), sorted by name: for pickers. */
  async listProjects(): Promise<Project[]> {
    const all: Project[] = [];
    let after: string | undefined = undefined;
    do {
      const got: Page<Project> = await this.projectsPage({ sort: "name", limit: 1000, ...(after ? { after } : {}) });
      all.push(...got.items);
      after = got.next ?? undefined;
    } while (after !== undefined);
    return all;
  }
  /** One page of projects, searched (name or slug) and sorted by lcd. */
  async projectsPage(query: ProjectQuery = {}): Promise<Page<Project>> {
    const { q, sort, after, limit } = query;
    return page<Project>(await this.request("GET", `/projects${queryString({ q, sort, after, limit })}`));
  }
  getProject(slug: string): Promise<Project> {
    return this.request("GET", `/projects/${enc(slug)}`);
  }
  createProject(body: ProjectCreate): Promise<Project | Accepted> {
    return this.request("POST", "/projects", body);
  }
  renameProject(slug: string, body: ProjectUpdate): Promise<Project | Accepted> {
    return this.request("PATCH", `/projects/${enc(slug)}`, body);
  }
  async deleteProject(slug: string, cascade = false): Promise<void> {
    await this.request("DELETE", `/projects/${enc(slug)}${cascade ? "?cascade=true" : ""}`);
  }

  // ---- services -----------------------------------------------------------------------
  async listServices(project: string): Promise<Service[]> {
    return items<Service>(await this.request("GET", `/projects/${enc(project)}/services`));
  }
  /** One page of a project's services, searched by name and filtered by phase and tier. */
  async servicesPage(project: string, query: ServiceQuery = {}): Promise<Page<Service>> {
    const { q, phase, tier, after, limit } = query;
    const qs = queryString({ q, phase, tier, after, limit });
    return page<Service>(await this.request("GET", `/projects/${enc(project)}/services${qs}`));
  }
  getService(project: string, name: string): Promise<Service> {
    return this.request("GET", `/projects/${enc(project)}/services/${enc(name)}`);
  }
  createService(project: string, spec: ServiceSpec): Promise<Service | Accepted> {
    return this.request("POST", `/projects/${enc(project)}/services`, spec);
  }
  applyService(project: string, spec: ServiceSpec): Promise<Service | Accepted> {
    return this.request("PUT", `/projects/${enc(project)}/services/${enc(spec.name)}`, spec);
  }
  async deleteService(project: string, name: string): Promise<void> {
    await this.request("DELETE", `/projects/${enc(project)}/services/${enc(name)}`);
  }
  async listRevisions(project: string, name: string): Promise<Revision[]> {
    return items<Revision>(
      await this.request("GET", `/projects/${enc(project)}/services/${enc(name)}/revisions`),
    );
  }
  rollbackService(project: string, name: string, revision: number): Promise<Service | Accepted> {
    return this.request("POST", `/projects/${enc(project)}/services/${enc(name)}/rollback`, { revision });
  }

  // ---- project secrets (names and versions only come back) ------------------------------
  async listSecrets(project: string): Promise<Secret[]> {
    return items<Secret>(await this.request("GET", `/projects/${enc(project)}/secrets`));
  }
  createSecret(project: string, body: SecretCreate): Promise<Secret | Accepted> {
    return this.request("POST", `/projects/${enc(project)}/secrets`, body);
  }
  rotateSecret(project: string, name: string, body: SecretValue): Promise<Secret | Accepted> {
    return this.request("PUT", `/projects/${enc(project)}/secrets/${enc(name)}`, body);
  }
  async deleteSecret(project: string, name: string): Promise<void> {
    await this.request("DELETE", `/projects/${enc(project)}/secrets/${enc(name)}`);
  }

  // ---- webhooks (the secret comes back once: on create and on rotate) ------------------
  async listWebhooks(): Promise<Webhook[]> {
    return items<Webhook>(await this.request("GET", "/webhooks"));
  }
  createWebhook(body: WebhookCreate): Promise<WebhookCreated | (Accepted & { id: string; secret: string })> {
    return this.request("POST", "/webhooks", body);
  }
  pauseWebhook(id: string): Promise<Webhook | Accepted> {
    return this.request("POST", `/webhooks/${enc(id)}/pause`);
  }
  resumeWebhook(id: string): Promise<Webhook | Accepted> {
    return this.request("POST", `/webhooks/${enc(id)}/resume`);
  }
  rotateWebhookSecret(id: string): Promise<WebhookSecret> {
    return this.request("POST", `/webhooks/${enc(id)}/rotate-secret`);
  }
  testWebhook(id: string): Promise<Accepted> {
    return this.request("POST", `/webhooks/${enc(id)}/test`);
  }
  replayWebhook(id: string, body: WebhookReplay): Promise<Accepted> {
    return this.request("POST", `/webhooks/${enc(id)}/replay`, body);
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.request("DELETE", `/webhooks/${enc(id)}`);
  }
  async webhookDeliveries(id: string): Promise<WebhookDelivery[]> {
    return items<WebhookDelivery>(await this.request("GET", `/webhooks/${enc(id)}/deliveries`));
  }

  // ---- domains ------------------------------------------------------------------------
  async listDomains(): Promise<Domain[]> {
    return items<Domain>(await this.request("GET", "/domains"));
  }
  async domainsPage(query: { after?: string; limit?: number } = {}): Promise<Page<Domain>> {
    return page<Domain>(await this.request("GET", `/domains${queryString(query)}`));
  }
  getDomain(id: string): Promise<Domain> {
    return this.request("GET", `/domains/${enc(id)}`);
  }
  registerDomain(body: DomainCreate): Promise<Domain | Accepted> {
    return this.request("POST", "/domains", body);
  }
  verifyDomain(id: string): Promise<Domain | Accepted> {
    return this.request("POST", `/domains/${enc(id)}/verify`);
  }
  async deleteDomain(id: string): Promise<void> {
    await this.request("DELETE", `/domains/${enc(id)}`);
  }

  // ---- auditing ---------------------------------------------------------------------------
  /** The project as it was at `at` (an RFC 3339 time with its zone, or a sequence). */
  projectState(slug: string, at: string): Promise<ProjectState> {
    return this.request("GET", `/projects/${enc(slug)}/state${queryString({ at })}`);
  }
  /** What changed between two moments, and which events did it. */
  auditDiff(query: DiffQuery): Promise<Diff> {
    const { from, to, project } = query;
    return this.request("GET", `/audit/diff${queryString({ from, to, project })}`);
  }

  // ---- fleet, metrics, events -----------------------------------------------------------
  fleet(): Promise<Fleet> {
    return this.request("GET", "/fleet");
  }
  metrics(window?: string): Promise<Metrics> {
    return this.request("GET", `/metrics${window ? `?window=${enc(window)}` : ""}`);
  }
  async events(query: EventQuery = {}): Promise<EventPage> {
    const { after, limit, type, project, actor, order } = query;
    const qs = queryString({ after: after === undefined ? undefined : String(after), limit, type, project, actor, order });
    return page<AuditEvent>(await this.request<unknown>("GET", `/events${qs}`));
  }
}
