// Reading the cluster: the master's `/master/state`, folded once per poll into indexes
// the views share, and agent endpoints, which the master forwards (one origin, no CORS).

import { resource } from "./format.js";

const TIMEOUT_MS = 10000;

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GETs `url` as JSON within a deadline; throws `HttpError` with the server's words. */
export async function getJson(url, { signal } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  signal?.addEventListener("abort", () => controller.abort());
  try {
    const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
    if (!response.ok) {
      const text = (await response.text()).trim();
      throw new HttpError(response.status, text || `${response.status} ${response.statusText}`);
    }
    return await response.json();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (controller.signal.aborted && !signal?.aborted) {
      throw new HttpError(0, `no answer from ${url} within ${TIMEOUT_MS / 1000} s`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The URL of an agent endpoint (`state`, `monitor/statistics`, `files/read`...). */
export function agentUrl(agentId, endpoint, query = {}) {
  const params = new URLSearchParams(query).toString();
  return `/master/webui/agents/${encodeURIComponent(agentId)}/${endpoint}${params ? `?${params}` : ""}`;
}

export const RESOURCES = ["cpus", "mem", "disk", "gpus", "ports"];

export const TASK_STATES = [
  "TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED",
  "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED",
  "TASK_UNREACHABLE", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN",
];

/** Agents seen in earlier polls, so an unreachable agent keeps its hostname. */
const seenAgents = new Map();

/**
 * Folds `/master/state` (and the unreachable agents) into what the views read:
 * O(tasks + agents) once per poll, so pages only slice and filter.
 */
export function buildIndex(state, unreachable) {
  const frameworks = [];
  const frameworkById = new Map();
  const tasks = [];
  const taskCounts = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
  const offers = [];
  const addFramework = (framework, completed) => {
    const entry = { ...framework, completed };
    frameworks.push(entry);
    frameworkById.set(framework.id, entry);
    for (const [list, kind] of [[framework.tasks, "active"], [framework.unreachable_tasks, "unreachable"], [framework.completed_tasks, "completed"]]) {
      for (const task of list || []) {
        tasks.push({ task, framework: entry, kind });
        taskCounts[task.state] = (taskCounts[task.state] || 0) + 1;
      }
    }
    for (const offer of framework.offers || []) offers.push({ offer, framework: entry });
  };
  for (const framework of state.frameworks || []) addFramework(framework, false);
  for (const framework of state.completed_frameworks || []) addFramework(framework, true);

  const agents = state.slaves || [];
  const agentById = new Map();
  for (const agent of agents) {
    agentById.set(agent.id, agent);
    seenAgents.set(agent.id, { id: agent.id, hostname: agent.hostname, pid: agent.pid, resources: agent.resources, attributes: agent.attributes, registered_time: agent.registered_time });
  }
  const unreachableAgents = (unreachable?.unreachable_slaves || []).map((entry) => ({
    ...(seenAgents.get(entry.id) || { id: entry.id }),
    unreachable_time: entry.time,
  }));

  const totals = {};
  for (const name of RESOURCES) totals[name] = { total: 0, used: 0, offered: 0 };
  for (const agent of agents) {
    for (const name of Object.keys(totals)) {
      totals[name].total += resource(agent.resources, name);
      totals[name].used += resource(agent.used_resources, name);
      totals[name].offered += resource(agent.offered_resources, name);
    }
  }
  return {
    state,
    frameworks,
    frameworkById,
    agents,
    agentById,
    unreachableAgents,
    tasks,
    taskCounts,
    offers,
    totals,
    fetchedAt: Date.now(),
  };
}

/** The leader's web address when `state` comes from a master that does not lead. */
export function leaderUrl(state) {
  if (!state.leader || state.leader === state.pid) return null;
  const info = state.leader_info;
  if (info?.hostname && info?.port) return `//${info.hostname}:${info.port}/`;
  const address = String(state.leader).split("@")[1];
  return address ? `//${address}/` : null;
}
