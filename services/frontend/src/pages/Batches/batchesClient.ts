/**
 * The few calls the Batches page makes to lc-proxy's OpenAI-compatible `/v1` (not lcd's
 * `/api`): list batches, cancel one, fetch a file's content.
 *
 * The console reaches `/v1` on its own origin (`lc up` and the chart serve both there).
 * Batches belong to the API key that created them, so with keys on the page asks for one
 * and sends it as `Authorization: Bearer`, exactly as an OpenAI SDK does; without keys
 * (loopback) no header is needed. Errors come in OpenAI's shape and become `ProxyError`.
 */
import type { FetchLike } from "../../api/client";

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

export type BatchStatus =
  | "validating"
  | "failed"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "expired"
  | "cancelling"
  | "cancelled";

export interface Batch {
  id: string;
  endpoint: string;
  status: BatchStatus;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  completed_at: number | null;
  request_counts: RequestCounts;
  errors: { data: { code: string; line: number | null; message: string }[] } | null;
  metadata: Record<string, string> | null;
}

export class ProxyError extends Error {
  readonly status: number;
  readonly code: string | null;

  constructor(status: number, message: string, code: string | null) {
    super(message);
    this.name = "ProxyError";
    this.status = status;
    this.code = code;
  }
}

export class BatchesClient {
  constructor(
    private readonly apiKey: string,
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
    private readonly baseUrl = "",
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey ? { Authorization: `Bearer ${this.apiKey}` } : {};
  }

  private async call(method: "GET" | "POST", path: string): Promise<Response> {
    const init: RequestInit = { method, headers: this.headers(), credentials: "same-origin" };
    if (method === "POST") init.headers = { ...this.headers(), "Content-Type": "application/json" };
    if (method === "POST") init.body = "{}";
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      let code: string | null = null;
      try {
        const body = (await response.json()) as { error?: { message?: string; code?: string | null } };
        message = body.error?.message ?? message;
        code = body.error?.code ?? null;
      } catch {
        // not JSON: keep the status line
      }
      throw new ProxyError(response.status, message, code);
    }
    return response;
  }

  async list(limit = 100): Promise<Batch[]> {
    const body = (await (await this.call("GET", `/v1/batches?limit=${limit}`)).json()) as { data?: Batch[] };
    return body.data ?? [];
  }

  async cancel(id: string): Promise<Batch> {
    return (await (await this.call("POST", `/v1/batches/${encodeURIComponent(id)}/cancel`)).json()) as Batch;
  }

  async content(fileId: string): Promise<Blob> {
    return (await this.call("GET", `/v1/files/${encodeURIComponent(fileId)}/content`)).blob();
  }
}
