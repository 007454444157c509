/**
 * RFC 9457 problem+json errors from lcd, and the field-level `errors[]` they carry.
 *
 * Field errors are keyed by a dotted path into the request body
 * (`kind.container.ports.0.port`), the same keys the console's forms and its own
 * validation (src/validation) use, so a message lands beside the input it is about.
 */

export interface ProblemFieldError {
  /** Dotted path into the request body, e.g. `kind.model.modelName`; "" for the whole body. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors: ProblemFieldError[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
  }

  /** Field errors as a map path → first message. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors) {
      if (!(e.field in out)) out[e.field] = e.message;
    }
    return out;
  }
}

/** Turns any of the usual location spellings into a dotted body path. */
export function fieldPath(raw: unknown): string {
  let parts: (string | number)[];
  if (Array.isArray(raw)) {
    parts = raw.filter((p): p is string | number => typeof p === "string" || typeof p === "number");
  } else if (typeof raw === "string") {
    const s = raw.replace(/^#/, "");
    parts = s.startsWith("/") ? s.slice(1).split("/").map(unescapePointer) : s.split(".");
  } else {
    return "";
  }
  // FastAPI locations start with where the value came from.
  if (parts.length > 0 && ["body", "query", "path", "header"].includes(String(parts[0]))) {
    parts = parts.slice(1);
  }
  return parts
    .map(String)
    .filter((p) => p !== "")
    .join(".");
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Pydantic prefixes custom messages; users need only the sentence. */
export function cleanMessage(message: string): string {
  return message.replace(/^(Value|Assertion) error, /, "");
}

function fieldError(raw: unknown): ProblemFieldError | null {
  if (typeof raw === "string") return { field: "", message: raw };
  if (raw === null || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  const where = o.pointer ?? o.field ?? o.loc ?? o.path ?? o.name ?? "";
  const what = o.detail ?? o.message ?? o.msg ?? o.title ?? "is invalid";
  return { field: fieldPath(where), message: cleanMessage(String(what)) };
}

/** Builds a Problem from a response body, whatever it turned out to be. */
export function toProblem(status: number, statusText: string, body: unknown): Problem {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    const rawErrors = Array.isArray(o.errors) ? o.errors : Array.isArray(o.detail) ? o.detail : [];
    const errors = rawErrors.map(fieldError).filter((e): e is ProblemFieldError => e !== null);
    const detail = typeof o.detail === "string" ? o.detail : undefined;
    return {
      type: typeof o.type === "string" ? o.type : "about:blank",
      title: typeof o.title === "string" ? o.title : statusText || `HTTP ${status}`,
      status: typeof o.status === "number" ? o.status : status,
      ...(detail !== undefined ? { detail } : {}),
      ...(typeof o.instance === "string" ? { instance: o.instance } : {}),
      errors,
    };
  }
  const text = typeof body === "string" && body.trim() ? body.trim().slice(0, 300) : undefined;
  return {
    type: "about:blank",
    title: statusText || `HTTP ${status}`,
    status,
    ...(text !== undefined ? { detail: text } : {}),
    errors: [],
  };
}

/** A sentence describing an error for an error banner. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const p = error.problem;
    if (p.status === 401) return "Your session has ended. Sign in again.";
    if (p.status === 429) return p.detail ?? "Too many attempts. Wait a moment and try again.";
    const base = p.detail && p.detail !== p.title ? `${p.title}: ${p.detail}` : p.title;
    const loose = p.errors.filter((e) => e.field === "").map((e) => e.message);
    return [base, ...loose].join(" — ");
  }
  if (error instanceof TypeError) return "Cannot reach the API. Is the stack running?";
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * What a form shows for a failed submit: messages beside their fields, and the rest
 * (a rule across fields, an unreachable API) above the form.
 */
export function formErrorsOf(err: unknown): { fields: Record<string, string>; form: string[] } {
  if (err instanceof ApiError && err.problem.errors.length > 0) {
    const fields = err.fieldErrors;
    return { fields, form: fields[""] ? [fields[""]] : [] };
  }
  return { fields: {}, form: [describeError(err)] };
}
