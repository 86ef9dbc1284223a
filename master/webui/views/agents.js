// Agents: the list (resources used / total, attributes, registration, reachable or
// not) and an agent's page: its frameworks, executors and tasks from the agent's own
// `/state`, and live usage from its `/monitor/statistics`, both through the master.

import { RESOURCES, getJson, agentUrl } from "../api.js";
import { html, amount, ago, time, link, resource, bytes, number } from "../format.js";
import { PagedTable } from "../table.js";
import { taskColumns } from "./tasks.js";

const AGENT_POLL_MS = 1000;

function attributes(agent) {
  return Object.entries(agent.attributes || {}).map(([k, v]) => `${k}:${v}`).join(", ");
}

function agentState(agent) {
  if (agent.unreachable_time) return html`<span class="state state-bad agent-state">Unreachable</span>`;
  if (!agent.active) return html`<span class="state state-warn agent-state">Deactivated</span>`;
  return html`<span class="state state-ok agent-state">Active</span>`;
}

function usedOfTotal(agent, name) {
  if (!agent.resources) return "—";
  return `${amount(name, resource(agent.used_resources, name))} / ${amount(name, resource(agent.resources, name))}`;
}

export function mountList(el, { query }) {
  el.innerHTML = html`<h1>Agents</h1>
    <form class="filters" role="search" aria-label="Filter agents">
      <label>Hostname, ID or attribute <input name="filter" type="search" autocomplete="off"></label>
    </form>
    <div data-part="table"><p class="loading">Loading…</p></div>`.text;
  const input = el.querySelector('input[name="filter"]');
  input.value = query.get("filter") || "";
  let index = null;
  const table = new PagedTable(el.querySelector('[data-part="table"]'), {
    caption: "Agents",
    empty: "No agent has registered.",
    rowKey: (a) => a.id,
    columns: [
      { title: "ID", cell: (a) => (a.unreachable_time ? html`<span class="mono">${a.id}</span>` : html`<a class="mono" href="${link(["agents", a.id])}">${a.id}</a>`) },
      { title: "Hostname", cell: (a) => a.hostname || "—" },
      ...["cpus", "mem", "disk", "gpus"].map((name) => ({ title: `${name} used / total`, num: true, cell: (a) => usedOfTotal(a, name) })),
      { title: "Attributes", cell: (a) => attributes(a) },
      { title: "Registered", cell: (a) => html`<span title="${time(a.registered_time)}">${ago(a.registered_time)}</span>` },
      { title: "State", cell: (a) => html`${agentState(a)}${a.unreachable_time ? html` <span title="${time(a.unreachable_time)}">since ${ago(a.unreachable_time)}</span>` : ""}` },
    ],
  });
  const refresh = () => {
    if (!index) return;
    const needle = input.value.trim().toLowerCase();
    const all = [...index.agents, ...index.unreachableAgents];
    const rows = needle
      ? all.filter((a) => a.id.toLowerCase().includes(needle) || (a.hostname || "").toLowerCase().includes(needle) || attributes(a).toLowerCase().includes(needle))
      : all;
    table.spec.empty = all.length ? "No agent matches." : "No agent has registered.";
    table.update(rows);
  };
  input.addEventListener("input", () => {
    const value = input.value.trim();
    history.replaceState(null, "", `#/agents${value ? `?filter=${encodeURIComponent(value)}` : ""}`);
    table.reset();
    refresh();
  });
  el.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
  return {
    update(next) {
      index = next;
      refresh();
    },
  };
}

/** Usage per executor from two successive `/monitor/statistics` samples (cpu is a rate). */
function usageRows(entries, previous) {
  return entries.map((entry) => {
    const s = entry.statistics || {};
    const key = `${entry.framework_id}/${entry.executor_id}`;
    const before = previous.get(key);
    const cpuTime = (s.cpus_user_time_secs || 0) + (s.cpus_system_time_secs || 0);
    let cpus = null;
    if (before && s.timestamp > before.timestamp) {
      cpus = Math.max(0, (cpuTime - before.cpuTime) / (s.timestamp - before.timestamp));
    }
    previous.set(key, { timestamp: s.timestamp, cpuTime });
    return { entry, s, cpus };
  });
}

export function mountDetail(el, { params: [id] }) {
  el.innerHTML = html`<h1>Agent <span class="mono">${id}</span></h1>
    <div data-part="info"><p class="loading">Loading…</p></div>
    <section aria-labelledby="ad-usage"><h2 id="ad-usage">Live usage</h2><div data-part="usage" aria-live="off"><p class="loading">Asking the agent…</p></div></section>
    <section aria-labelledby="ad-frameworks"><h2 id="ad-frameworks">Frameworks on this agent</h2><div data-part="frameworks"></div></section>
    <section aria-labelledby="ad-executors"><h2 id="ad-executors">Executors</h2><div data-part="executors"></div></section>
    <section aria-labelledby="ad-tasks"><h2 id="ad-tasks">Tasks</h2><div data-part="tasks"></div></section>`.text;
  const part = (name) => el.querySelector(`[data-part="${name}"]`);
  const previous = new Map();
  let timer = null;
  let stopped = false;
  let index = null;
  const executors = new PagedTable(part("executors"), {
    caption: "Executors",
    empty: "No executor runs here.",
    columns: [
      { title: "ID", cell: ({ executor }) => html`<span class="mono">${executor.id}</span>` },
      { title: "Framework", cell: ({ framework }) => html`<a href="${link(["frameworks", framework.id])}">${framework.name || framework.id}</a>` },
      { title: "Tasks", num: true, cell: ({ executor }) => (executor.tasks || []).length + (executor.queued_tasks || []).length },
      { title: "Completed tasks", num: true, cell: ({ executor }) => (executor.completed_tasks || []).length },
      { title: "Sandbox", cell: ({ executor }) => html`<a href="${link(["agents", id, "browse"], { path: executor.directory })}">Sandbox</a>` },
    ],
  });
  const tasks = new PagedTable(part("tasks"), { caption: "Tasks", empty: "No task on this agent.", columns: [], rowKey: (t) => t.task.id });

  const pollAgent = async () => {
    try {
      const [agentState, statistics] = await Promise.all([
        getJson(agentUrl(id, "state")),
        getJson(agentUrl(id, "monitor/statistics")),
      ]);
      if (stopped) return;
      renderAgent(agentState, statistics);
    } catch (error) {
      if (stopped) return;
      part("usage").innerHTML = html`<p class="error">The agent did not answer: ${error.message}</p>`.text;
    }
    if (!stopped) timer = setTimeout(pollAgent, AGENT_POLL_MS);
  };

  const renderAgent = (agentState, statistics) => {
    const rows = usageRows(statistics, previous);
    part("usage").innerHTML = rows.length === 0
      ? html`<p class="empty">No executor is running, so there is no usage to show.</p>`.text
      : html`<table><caption>Per executor, sampled every second</caption>
          <thead><tr><th scope="col">Executor</th><th scope="col">Framework</th><th scope="col" class="num">CPU (used / limit)</th><th scope="col" class="num">Memory (RSS / limit)</th><th scope="col" class="num">Processes</th></tr></thead>
          <tbody>${rows.map(({ entry, s, cpus }) => html`<tr data-key="${entry.executor_id}">
            <td class="mono">${entry.executor_id}</td>
            <td class="mono">${entry.framework_id}</td>
            <td class="num">${cpus === null ? "…" : number(cpus, 3)} / ${number(s.cpus_limit ?? 0)}</td>
            <td class="num">${bytes(s.mem_rss_bytes)} / ${bytes(s.mem_limit_bytes)}</td>
            <td class="num">${s.processes ?? "—"}</td></tr>`)}</tbody></table>`.text;
    const frameworks = [...(agentState.frameworks || []), ...(agentState.completed_frameworks || [])];
    part("frameworks").innerHTML = frameworks.length === 0
      ? html`<p class="empty">No framework has run anything here.</p>`.text
      : html`<ul>${frameworks.map((f) => html`<li><a href="${link(["frameworks", f.id])}">${f.name || f.id}</a> (${(f.executors || []).length} executors)</li>`)}</ul>`.text;
    executors.update(frameworks.flatMap((framework) => [...(framework.executors || []), ...(framework.completed_executors || [])].map((executor) => ({ framework, executor }))));
  };

  pollAgent();
  return {
    update(next) {
      index = next;
      const agent = index.agentById.get(id);
      if (!agent) {
        const unreachable = index.unreachableAgents.find((a) => a.id === id);
        part("info").innerHTML = (unreachable
          ? html`<p class="error">This agent is unreachable since ${time(unreachable.unreachable_time)}: the master lost contact with it.</p>`
          : html`<p class="error">The master knows no agent “${id}”.</p>`).text;
        return;
      }
      const reserved = Object.entries(agent.reserved_resources || {});
      part("info").innerHTML = html`<div class="grid">
        <section class="card" aria-label="Agent information"><dl class="facts">
          <dt>Hostname</dt><dd>${agent.hostname}</dd>
          <dt>PID</dt><dd class="mono">${agent.pid}</dd>
          <dt>State</dt><dd>${agentState(agent)}</dd>
          <dt>Registered</dt><dd>${time(agent.registered_time)}</dd>
          ${agent.reregistered_time ? html`<dt>Re-registered</dt><dd>${time(agent.reregistered_time)}</dd>` : ""}
          <dt>Version</dt><dd>${agent.version || "—"}</dd>
          <dt>Attributes</dt><dd>${attributes(agent) || "—"}</dd>
        </dl></section>
        <section class="card" aria-label="Agent resources"><table>
          <thead><tr><th scope="col">Resource</th><th scope="col" class="num">Total</th><th scope="col" class="num">Used</th><th scope="col" class="num">Offered</th>${reserved.map(([role]) => html`<th scope="col" class="num">Reserved for ${role}</th>`)}</tr></thead>
          <tbody>${RESOURCES.map((name) => html`<tr><th scope="row">${name}</th>
            <td class="num">${amount(name, resource(agent.resources, name))}</td>
            <td class="num">${amount(name, resource(agent.used_resources, name))}</td>
            <td class="num">${amount(name, resource(agent.offered_resources, name))}</td>
            ${reserved.map(([, r]) => html`<td class="num">${amount(name, resource(r, name))}</td>`)}</tr>`)}</tbody>
        </table></section></div>`.text;
      tasks.spec.columns = taskColumns(index, { agent: false });
      tasks.update(index.tasks.filter((t) => t.task.slave_id === id));
    },
    unmount() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
