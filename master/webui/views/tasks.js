// Tasks: every task the master knows (active, unreachable, completed), filtered by
// state, framework, agent and name, one page at a time, with links to sandboxes.

import { TASK_STATES } from "../api.js";
import { html, ago, time, link, state, agentName } from "../format.js";
import { PagedTable } from "../table.js";

const ACTIVE = new Set(["TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"]);

function started(task) {
  return task.statuses?.[0]?.timestamp;
}

function updated(task) {
  const statuses = task.statuses || [];
  return statuses[statuses.length - 1]?.timestamp;
}

/** A link to the task's sandbox on its agent (resolved there from the agent's `/state`). */
export function sandboxLink(task) {
  return link(["agents", task.slave_id, "browse"], { framework: task.framework_id, executor: task.executor_id || undefined, task: task.id });
}

/** The task table's columns, shared with the framework and agent pages. */
export function taskColumns(index, { framework = true, agent = true } = {}) {
  return [
    { title: "ID", cell: ({ task }) => html`<span class="mono">${task.id}</span>` },
    { title: "Name", cell: ({ task }) => task.name },
    { title: "State", cell: ({ task }) => state(task.state) },
    ...(framework ? [{ title: "Framework", cell: ({ task, framework: f }) => html`<a href="${link(["frameworks", f.id])}">${f.name || f.id}</a>` }] : []),
    ...(agent ? [{ title: "Agent", cell: ({ task }) => html`<a href="${link(["agents", task.slave_id])}">${agentName(index.agentById.get(task.slave_id), task.slave_id)}</a>` }] : []),
    { title: "Started", cell: ({ task }) => html`<span title="${time(started(task))}">${ago(started(task))}</span>` },
    { title: "Updated", cell: ({ task }) => html`<span title="${time(updated(task))}">${ago(updated(task))}</span>` },
    { title: "Sandbox", cell: ({ task }) => html`<a href="${sandboxLink(task)}" aria-label="Sandbox of task ${task.id}">Sandbox</a>` },
  ];
}

function matches(entry, filters, index) {
  const { task, framework } = entry;
  if (filters.state === "active" && !ACTIVE.has(task.state)) return false;
  if (filters.state === "terminal" && ACTIVE.has(task.state)) return false;
  if (filters.state.startsWith("TASK_") && task.state !== filters.state) return false;
  if (filters.framework && framework.id !== filters.framework) return false;
  if (filters.agent) {
    const needle = filters.agent.toLowerCase();
    const host = index.agentById.get(task.slave_id)?.hostname || "";
    if (!task.slave_id.toLowerCase().includes(needle) && !host.toLowerCase().includes(needle)) return false;
  }
  if (filters.name) {
    const needle = filters.name.toLowerCase();
    if (!(task.name || "").toLowerCase().includes(needle) && !task.id.toLowerCase().includes(needle)) return false;
  }
  return true;
}

export function mount(el, { query }) {
  const filters = {
    state: query.get("state") || "",
    framework: query.get("framework") || "",
    agent: query.get("agent") || "",
    name: query.get("name") || "",
  };
  el.innerHTML = html`<h1>Tasks</h1>
    <form class="filters" role="search" aria-label="Filter tasks">
      <label>State
        <select name="state">
          <option value="">All</option>
          <option value="active">Active</option>
          <option value="terminal">Terminal</option>
          ${TASK_STATES.map((s) => html`<option value="${s}">${s.replace(/^TASK_/, "")}</option>`)}
        </select>
      </label>
      <label>Framework <select name="framework"><option value="">All</option></select></label>
      <label>Agent <input name="agent" type="search" placeholder="id or hostname" autocomplete="off"></label>
      <label>Name or ID <input name="name" type="search" autocomplete="off"></label>
    </form>
    <div data-part="table"><p class="loading">Loading…</p></div>`.text;
  const form = el.querySelector("form");
  for (const [key, value] of Object.entries(filters)) form.elements[key].value = value;
  let index = null;
  let frameworkOptions = "";
  const table = new PagedTable(el.querySelector('[data-part="table"]'), {
    caption: "Tasks",
    empty: "No task matches.",
    columns: [],
    rowKey: (t) => t.task.id,
  });
  const refresh = () => {
    if (!index) return;
    table.spec.columns = taskColumns(index);
    table.spec.empty = index.tasks.length ? "No task matches these filters." : "No task has been launched yet.";
    const rows = index.tasks.filter((entry) => matches(entry, filters, index));
    // Active tasks first, then the most recently updated.
    rows.sort((a, b) => (ACTIVE.has(b.task.state) - ACTIVE.has(a.task.state)) || ((updated(b.task) || 0) - (updated(a.task) || 0)));
    table.update(rows);
  };
  const onInput = () => {
    for (const key of Object.keys(filters)) filters[key] = form.elements[key].value.trim();
    const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    history.replaceState(null, "", `#/tasks${params ? `?${params}` : ""}`);
    table.reset();
    refresh();
  };
  form.addEventListener("input", onInput);
  form.addEventListener("submit", (event) => event.preventDefault());
  return {
    update(next) {
      index = next;
      const options = index.frameworks.map((f) => html`<option value="${f.id}">${f.name || f.id}${f.completed ? " (completed)" : ""}</option>`).join("");
      if (options !== frameworkOptions) {
        frameworkOptions = options;
        const select = form.elements.framework;
        select.innerHTML = `<option value="">All</option>${options}`;
        select.value = filters.framework;
      }
      refresh();
    },
  };
}
