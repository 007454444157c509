/** Roll-ups of Service phases: what a project card shows at a glance. */
import type { Project, Service } from "../api/types";

export interface HealthSummary {
  total: number;
  ready: number;
  deploying: number;
  failed: number;
  /** The one word for the whole project. */
  overall: "Ready" | "Deploying" | "Failed" | "Empty" | "Pending";
}

export function phaseOf(service: Service): string {
  return service.status?.phase ?? "Pending";
}

export function summariseHealth(services: readonly Service[]): HealthSummary {
  let ready = 0;
  let deploying = 0;
  let failed = 0;
  for (const s of services) {
    const phase = phaseOf(s);
    if (phase === "Ready") ready++;
    else if (phase === "Failed") failed++;
    else deploying++;
  }
  return healthFromCounts(services.length, ready, deploying, failed);
}

/** The same roll-up from counts lcd already made (a project's `readyCount`, ...). */
export function projectHealth(project: Project): HealthSummary {
  return healthFromCounts(project.serviceCount, project.readyCount, project.deployingCount, project.failedCount);
}

function healthFromCounts(total: number, ready: number, deploying: number, failed: number): HealthSummary {
  const overall = total === 0 ? "Empty" : failed > 0 ? "Failed" : ready === total ? "Ready" : deploying > 0 ? "Deploying" : "Pending";
  return { total, ready, deploying, failed, overall };
}

/** A project slug from a display name: "My Team's Models" → "my-team-s-models". */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
}
