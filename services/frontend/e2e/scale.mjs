/**
 * The console at a platform team's scale: seed projects and services through the API with
 * bounded concurrency, then find the last project by scrolling and by search, filter a
 * project's services by phase, and open an event filtered by actor. Times what a user waits.
 */
const CONCURRENCY = Number(process.env.LC_E2E_SCALE_CONCURRENCY ?? 12);

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight; fails on the first error. */
async function pool(n, limit, task) {
  let nextIndex = 0;
  const worker = async () => {
    for (let i = nextIndex++; i < n; i = nextIndex++) await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** A JSON POST to lcd with HTTP Basic (when credentials are set); retried on 429/503. */
function poster(base, username, password) {
  const auth = username ? { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } : {};
  return async (path, body) => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${base}/api/v1${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-Requested-With": "XMLHttpRequest", ...auth },
        body: JSON.stringify(body),
      });
      if (response.ok || response.status === 409) return;
      if ((response.status === 429 || response.status === 503) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
        continue;
      }
      throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    }
  };
}

export const teamSlug = (i) => `team-${i}`;
export const teamName = (i) => `Team ${i}`;

/** `projects` projects and `services` services spread over them; returns the seconds taken. */
export async function seed({ base, username, password, projects, services }) {
  const post = poster(base, username, password);
  const started = Date.now();
  await pool(projects, CONCURRENCY, (i) => post("/projects", { name: teamName(i), slug: teamSlug(i) }));
  const projectsDone = Date.now();
  const perProject = Math.ceil(services / projects);
  await pool(services, CONCURRENCY, (k) =>
    post(`/projects/${teamSlug(k % projects)}/services`, {
      name: `svc-${Math.floor(k / projects)}`,
      tier: "cpu",
      kind: { container: { image: "hashicorp/http-echo:latest", replicas: k % 3 === 0 ? 1 : 0 } },
    }),
  );
  return {
    projectsSeconds: (projectsDone - started) / 1000,
    servicesSeconds: (Date.now() - projectsDone) / 1000,
    perProject,
  };
}
