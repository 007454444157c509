/**
 * The shapes the console reads from and sends to lcd's `/api/v1`.
 *
 * Request bodies mirror `lc_contracts.specs` (camelCase on the wire). Response shapes follow
 * the API's OpenAPI schema; `npm run check:api` generates types from that schema and
 * checks these against them (see src/api/openapi-check.ts).
 */

export type Tier = "inference" | "cpu" | "gpu";
export type Dtype = "auto" | "float16" | "bfloat16" | "float32" | "fp8" | "int8" | "int4";
export type Endpoint = "chat_completions" | "completions" | "embeddings";
export type ServicePhase = "Pending" | "Deploying" | "Ready" | "Failed" | "Deleted";
export type GpuHealth = "Healthy" | "Degraded" | "Unhealthy";
export type GpuMode = "exclusive" | "shared" | "mig";

export const TIERS: readonly Tier[] = ["inference", "cpu", "gpu"];
export const DTYPES: readonly Dtype[] = ["auto", "float16", "bfloat16", "float32", "fp8", "int8", "int4"];
export const ENDPOINTS: readonly Endpoint[] = ["chat_completions", "completions", "embeddings"];
export const ENDPOINT_PATHS: Record<Endpoint, string> = {
  chat_completions: "/v1/chat/completions",
  completions: "/v1/completions",
  embeddings: "/v1/embeddings",
};

// ---- Projects -------------------------------------------------------------------------

export interface ProjectCreate {
  name: string;
  slug: string;
}

export interface ProjectUpdate {
  name: string;
}

export interface Project {
  slug: string;
  name: string;
  /** Concurrency token, sent back in If-Match. */
  version: number;
  serviceCount: number;
  /** Services by last reported phase (not yet reported counts as deploying). */
  readyCount: number;
  deployingCount: number;
  failedCount: number;
  createdAt: string;
  updatedAt: string;
}

/** One page of a list; pass `next` back as `after` for the following page. */
export interface Page<T> {
  items: T[];
  next?: string | null;
}

export type ProjectSort = "slug" | "name" | "updated";

export interface ProjectQuery {
  q?: string;
  sort?: ProjectSort;
  after?: string;
  limit?: number;
}

export interface ServiceQuery {
  q?: string;
  phase?: readonly ServicePhase[];
  tier?: readonly Tier[];
  after?: string;
  limit?: number;
}

// ---- Services -------------------------------------------------------------------------

export interface ModelKind {
  modelName: string;
  dtype?: Dtype;
  endpoints?: Endpoint[];
  gpus?: number | null;
  replicas?: number | null;
  args?: string[] | null;
}

export interface PortSpec {
  port: number;
  name?: string | null;
  protocol?: "TCP" | "UDP";
}

export interface EnvVar {
  name: string;
  value?: string;
  /** The name of a project secret whose value the container gets instead of `value`. */
  secretRef?: string | null;
}

/** A project secret as lcd shows it: name and version, never the value. */
export interface Secret {
  projectSlug: string;
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface SecretCreate {
  name: string;
  value: string;
}

export interface SecretValue {
  value: string;
}

export interface Resources {
  cpu?: string | null;
  memory?: string | null;
  gpus?: number | null;
}

export interface Storage {
  size?: string;
  storageClass?: string | null;
}

export interface ContainerKind {
  image: string;
  command?: string[] | null;
  args?: string[] | null;
  env?: EnvVar[] | null;
  ports?: PortSpec[];
  resources?: Resources | null;
  replicas?: number;
  storage?: Storage | null;
}

export interface ServiceKind {
  model?: ModelKind | null;
  container?: ContainerKind | null;
}

/** A Service as applied by a user (`lc_contracts.specs.ServiceSpec`). */
export interface ServiceSpec {
  name: string;
  tier: Tier;
  kind: ServiceKind;
  expose?: boolean;
}

export interface ServiceStatus {
  phase: ServicePhase;
  message?: string;
  readyReplicas?: number;
  endpoints?: Endpoint[];
  /** The revision the cluster runs (may lag `Service.revision` while deploying). */
  observedRevision?: number;
  observedAt?: string | null;
}

export interface Service {
  projectSlug: string;
  name: string;
  spec: ServiceSpec;
  /** The latest applied revision; the concurrency token for If-Match. */
  revision: number;
  status: ServiceStatus;
  url: string | null;
  /** Verified custom domains routed to this service. */
  domains: string[];
  createdAt: string;
  updatedAt: string;
}

export interface Revision {
  revision: number;
  spec: ServiceSpec;
  rollbackOf?: number | null;
  createdAt: string;
}

/** A write that is in the log but not yet visible in the read models (HTTP 202). */
export interface Accepted {
  status: "accepted";
  seq: number;
  location: string;
}

// ---- Webhooks -------------------------------------------------------------------------

/** A webhook subscription as lcd shows it: never its signing secret. */
export interface Webhook {
  id: string;
  url: string;
  eventTypes: string[];
  projectSlug?: string | null;
  description: string;
  status: "active" | "paused";
  pauseReason?: string | null;
  pauseDetail?: string | null;
  pausedAtSequence?: number | null;
  secretRotatedAt?: string | null;
  previousSecretExpiresAt?: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The answer to a create: the subscription and its secret, shown this once. */
export interface WebhookCreated extends Webhook {
  secret: string;
}

export interface WebhookCreate {
  url: string;
  eventTypes: string[];
  projectSlug?: string;
  description?: string;
}

export interface WebhookReplay {
  fromSequence?: number;
  since?: string;
  until?: string;
}

export interface WebhookSecret {
  id: string;
  secret: string;
  previousSecretExpiresAt?: string | null;
}

export interface WebhookDelivery {
  id: number;
  eventId: string;
  eventSeq: number;
  eventType: string;
  attempt: number;
  outcome: string;
  statusCode?: number | null;
  latencyMs?: number | null;
  error?: string | null;
  responseBody?: string | null;
  nextAttemptAt?: string | null;
  attemptedAt: string;
}

// ---- Domains --------------------------------------------------------------------------

export type DomainStatus = "pending" | "verifying" | "verified" | "failed";

export interface DomainCreate {
  fqdn: string;
  projectSlug: string;
  serviceName: string;
}

export interface Domain extends DomainCreate {
  id: string;
  status: DomainStatus;
  challengeRR: string;
  challengeToken: string;
  cnameTarget: string;
  /** Why the last verification failed (or was lost), when it did. */
  lastFailure?: string | null;
  createdAt: string;
  updatedAt: string;
  verifiedAt?: string | null;
}

// ---- Fleet ----------------------------------------------------------------------------

export interface GpuAllocation {
  model?: string | null;
  modelName?: string | null;
  projectSlug?: string | null;
  serviceName?: string | null;
  memoryMiB?: number | null;
}

export interface Gpu {
  node: string;
  index: number;
  uuid: string;
  product: string;
  mode: GpuMode | string;
  health: GpuHealth | string;
  memoryTotalMiB: number;
  memoryAvailableMiB: number;
  /** Percent busy, as the engine reports it. */
  utilization?: number | null;
  allocations: GpuAllocation[];
  /** A tombstone on the stream: the GPU left the cluster. */
  removed?: boolean;
}

export interface FleetSummary {
  total: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  memoryTotalMiB: number;
  memoryAvailableMiB: number;
  byProduct: Record<string, number>;
  byNode: Record<string, number>;
}

export interface Fleet {
  gpus: Gpu[];
  summary: FleetSummary;
}

// ---- Metrics --------------------------------------------------------------------------

/** One model's usage through the proxy, summed over its replicas (within the window if one was asked). */
export interface ModelUsage {
  model: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  /** Counts per bucket of `bucketBoundsMs`, plus one overflow bucket. */
  latencyBuckets: number[];
  ttftBuckets: number[];
  latencyP50Ms?: number | null;
  latencyP95Ms?: number | null;
}

export interface Metrics {
  models: ModelUsage[];
  replicas: number;
  windowS?: number | null;
  bucketBoundsMs: number[];
  generatedAt: string;
}

// ---- Events ---------------------------------------------------------------------------

/** A CloudEvent from LC_EVENTS with its stream sequence. */
export interface AuditEvent {
  /** Stream sequence in LC_EVENTS. */
  seq: number;
  specversion?: string;
  id: string;
  type: string;
  source?: string;
  subject?: string;
  time: string;
  datacontenttype?: string;
  dataversion?: number;
  actor?: string | null;
  correlationid?: string | null;
  causationid?: string | null;
  data: Record<string, unknown>;
}

export interface EventPage {
  items: AuditEvent[];
  /** Cursor for the next page (pass as `after`). */
  next?: string | null;
}

export interface EventQuery {
  after?: number | string;
  limit?: number;
  type?: string;
  project?: string;
  actor?: string;
  /** `desc`: newest first, `after` then continues below that sequence. */
  order?: "asc" | "desc";
}

// ---- Config and auth ------------------------------------------------------------------

export interface PlatformConfig {
  platformDomain: string;
  cnameTarget: string;
  ingressService?: { namespace: string; name: string };
  /** "admin" when sign-in is needed, "none" when the API is open. */
  authMode: string;
  version: string;
}

export interface Me {
  username: string;
  authEnabled: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

// ---- Auditing: a project as it was, and what changed between two moments ------------------

/** A moment resolved to the log: every event up to `seq` (0: before the first). */
export interface Moment {
  seq: number;
  time?: string | null;
}

export interface ServiceState {
  name: string;
  tier: string;
  spec: Record<string, unknown>;
  revision: number;
  phase?: string | null;
  phaseMessage?: string | null;
}

export interface DomainState {
  id: string;
  fqdn: string;
  serviceName: string;
  status: string;
  lastFailure?: string | null;
}

export interface ProjectState {
  asOf: Moment;
  slug: string;
  name: string;
  services: ServiceState[];
  domains: DomainState[];
}

export interface FieldChange {
  /** RFC 6901 pointer into the object. */
  pointer: string;
  old?: unknown;
  new?: unknown;
}

export interface Cause {
  seq: number;
  id: string;
  type: string;
  time: string;
  actor?: string | null;
  correlationId?: string | null;
}

export interface ObjectChange {
  kind: string;
  projectSlug: string;
  key: string;
  change: string;
  fields: FieldChange[];
  events: Cause[];
}

export interface Diff {
  from: Moment;
  to: Moment;
  changes: ObjectChange[];
}

export interface DiffQuery {
  from: string;
  to?: string;
  project?: string;
}
