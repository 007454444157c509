/**
 * Compile-time check of the console's API types (src/api/types.ts) against lcd's OpenAPI
 * schema. `npm run check:api` generates `.openapi/schema.ts` from the schema and compiles
 * this file; a mismatch is a type error naming the operation.
 *
 * - what lcd answers must be readable as the console's type (answer → console type);
 * - what the console sends must be a valid request body (console type → request body).
 */
import type { components, paths } from "../.openapi/schema";
import type { paths as inputPaths } from "../.openapi/schema-input";
import type {
  Accepted,
  AuditEvent,
  Domain,
  EventQuery,
  DomainCreate,
  Fleet,
  Me,
  Metrics,
  PlatformConfig,
  Project,
  ProjectCreate,
  ProjectQuery,
  ProjectUpdate,
  Revision,
  Secret,
  SecretCreate,
  SecretValue,
  Service,
  ServiceQuery,
  ServiceSpec,
  Credentials,
  Diff,
  DiffQuery,
  ProjectState,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
  WebhookReplay,
  WebhookSecret,
} from "../src/api/types";

type Method = "get" | "put" | "post" | "delete" | "patch";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<C> = C extends { content: { "application/json": infer J } } ? J : never;
type Responses<P extends keyof paths, M extends Method> = Op<P, M> extends { responses: infer R } ? R : never;
/** The JSON body of the operation's success answer (200 or 201). */
type Answer<P extends keyof paths, M extends Method> =
  Responses<P, M> extends { 200: infer A } ? Json<A> : Responses<P, M> extends { 201: infer A } ? Json<A> : never;
type InputOp<P extends keyof inputPaths, M extends Method> = NonNullable<inputPaths[P][M]>;
type RequestBody<P extends keyof inputPaths, M extends Method> = InputOp<P, M> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;

/** Compiles only when T is exactly `true`. */
function expect<T extends true>(): T | void {}
type Reads<From, To> = [From] extends [never] ? false : [From] extends [To] ? true : false;
type Sends<From, To> = [To] extends [never] ? false : [From] extends [To] ? true : false;
/** The operation exists (a method the schema does not declare is `never` or undefined). */
type Has<P extends keyof paths, M extends Method> = [Op<P, M>] extends [never] ? false : true;

type S = components["schemas"];
/** The query parameters of an operation. */
type QueryOf<P extends keyof paths, M extends Method> = Op<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Each<T> = T extends readonly (infer E)[] ? E : T;
/** Every parameter the console sends is one the operation takes, with a value it accepts. */
type SendsQuery<From, P extends keyof paths, M extends Method> = [QueryOf<P, M>] extends [never]
  ? false
  : [{ [K in keyof From]-?: K extends keyof QueryOf<P, M> ? Sends<Each<NonNullable<From[K]>>, Each<NonNullable<QueryOf<P, M>[K]>>> : false }[keyof From]] extends [true]
    ? true
    : false;

// ---- auth and config -------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/config", "get">, PlatformConfig>>();
expect<Reads<Answer<"/api/v1/auth/me", "get">, Me>>();
expect<Reads<Answer<"/api/v1/auth/login", "post">, Me>>();
expect<Sends<Credentials, RequestBody<"/api/v1/auth/login", "post">>>();
expect<Has<"/api/v1/auth/logout", "post">>();

// ---- projects ----------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/projects", "get">, { items: Project[]; next?: string | null }>>();
expect<Reads<Answer<"/api/v1/projects/{slug}", "get">, Project>>();
expect<SendsQuery<ProjectQuery, "/api/v1/projects", "get">>();
expect<SendsQuery<ServiceQuery, "/api/v1/projects/{slug}/services", "get">>();
expect<SendsQuery<Omit<EventQuery, "after">, "/api/v1/events", "get">>();
expect<Sends<ProjectCreate, RequestBody<"/api/v1/projects", "post">>>();
expect<Reads<Answer<"/api/v1/projects", "post">, Project | Accepted>>();
expect<Sends<ProjectUpdate, RequestBody<"/api/v1/projects/{slug}", "patch">>>();
expect<Has<"/api/v1/projects/{slug}", "delete">>();

// ---- services ----------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/projects/{slug}/services", "get">, { items: Service[] }>>();
expect<Reads<Answer<"/api/v1/projects/{slug}/services/{name}", "get">, Service>>();
expect<Sends<ServiceSpec, RequestBody<"/api/v1/projects/{slug}/services", "post">>>();
expect<Sends<ServiceSpec, RequestBody<"/api/v1/projects/{slug}/services/{name}", "put">>>();
expect<Reads<Answer<"/api/v1/projects/{slug}/services/{name}/revisions", "get">, Revision[]>>();
expect<Sends<{ revision: number }, RequestBody<"/api/v1/projects/{slug}/services/{name}/rollback", "post">>>();
expect<Has<"/api/v1/projects/{slug}/services/{name}", "delete">>();
expect<Reads<S["ServiceSpec"], ServiceSpec>>();
expect<Reads<S["ServiceView"]["spec"], ServiceSpec>>();

// ---- project secrets ---------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/projects/{slug}/secrets", "get">, { items: Secret[] }>>();
expect<Sends<SecretCreate, RequestBody<"/api/v1/projects/{slug}/secrets", "post">>>();
expect<Reads<Answer<"/api/v1/projects/{slug}/secrets", "post">, Secret | Accepted>>();
expect<Sends<SecretValue, RequestBody<"/api/v1/projects/{slug}/secrets/{name}", "put">>>();
expect<Reads<Answer<"/api/v1/projects/{slug}/secrets/{name}", "put">, Secret | Accepted>>();
expect<Has<"/api/v1/projects/{slug}/secrets/{name}", "delete">>();

// ---- webhooks ----------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/webhooks", "get">, { items: Webhook[] }>>();
expect<Sends<WebhookCreate, RequestBody<"/api/v1/webhooks", "post">>>();
expect<Reads<Answer<"/api/v1/webhooks", "post">, WebhookCreated>>();
expect<Reads<Answer<"/api/v1/webhooks/{webhook_id}/pause", "post">, Webhook>>();
expect<Reads<Answer<"/api/v1/webhooks/{webhook_id}/resume", "post">, Webhook>>();
expect<Reads<Answer<"/api/v1/webhooks/{webhook_id}/rotate-secret", "post">, WebhookSecret>>();
expect<Sends<WebhookReplay, RequestBody<"/api/v1/webhooks/{webhook_id}/replay", "post">>>();
expect<Has<"/api/v1/webhooks/{webhook_id}/test", "post">>();
expect<Has<"/api/v1/webhooks/{webhook_id}", "delete">>();
expect<Reads<Answer<"/api/v1/webhooks/{webhook_id}/deliveries", "get">, { items: WebhookDelivery[] }>>();

// ---- domains -----------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/domains", "get">, { items: Domain[] }>>();
expect<Sends<DomainCreate, RequestBody<"/api/v1/domains", "post">>>();
expect<Reads<Answer<"/api/v1/domains/{domain_id}", "get">, Domain>>();
expect<Has<"/api/v1/domains/{domain_id}/verify", "post">>();
expect<Has<"/api/v1/domains/{domain_id}", "delete">>();

// ---- events and metrics ------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/events", "get">, { items: AuditEvent[]; next?: string | null }>>();
expect<Has<"/api/v1/events/stream", "get">>();
expect<Reads<Answer<"/api/v1/metrics", "get">, Metrics>>();

// ---- fleet ---------------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/fleet", "get">, Fleet>>();
expect<Has<"/api/v1/fleet/stream", "get">>();

// ---- auditing ------------------------------------------------------------------------------
expect<Reads<Answer<"/api/v1/projects/{slug}/state", "get">, ProjectState>>();
expect<SendsQuery<{ at?: string }, "/api/v1/projects/{slug}/state", "get">>();
expect<Reads<Answer<"/api/v1/audit/diff", "get">, Diff>>();
expect<SendsQuery<DiffQuery, "/api/v1/audit/diff", "get">>();
