// Frameworks: the list (roles, resources, task counts, DRF share) and a framework's
// page (its tasks, offers and executors).

import { RESOURCES } from "../api.js";
import { html, amount, ago, time, link, resource, agentName } from "../format.js";
import { PagedTable } from "../table.js";
import { taskColumns } from "./tasks.js";

/** The framework's dominant share: its largest fraction of any cluster resource (DRF). */
export function dominantShare(framework, totals) {
  let share = 0;
  for (const name of ["cpus", "mem", "disk", "gpus"]) {
    const total = totals[name].total;
    if (total > 0) share = Math.max(share, resource(framework.used_resources, name) / total);
  }
  return share;
}

function roles(framework) {
  return (framework.roles || [framework.role]).filter(Boolean).join(", ") || "*";
}

function columns(totals) {
  return [
    { title: "ID", cell: (f) => html`<a class="mono" href="${link(["frameworks", f.id])}">${f.id}</a>` },
    { title: "Name", cell: (f) => f.name },
    { title: "User", cell: (f) => f.user },
    { title: "Roles", cell: (f) => roles(f) },
    { title: "Active tasks", num: true, cell: (f) => (f.tasks || []).length },
    ...["cpus", "mem", "disk", "gpus"].map((name) => ({ title: name, num: true, cell: (f) => amount(name, resource(f.used_resources, name)) })),
    { title: "DRF share", num: true, cell: (f) => `${(dominantShare(f, totals) * 100).toFixed(1)}%` },
    { title: "Registered", cell: (f) => html`<span title="${time(f.registered_time)}">${ago(f.registered_time)}</span>` },
  ];
}

export function mountList(el) {
  el.innerHTML = html`<h1>Frameworks</h1>
    <section aria-labelledby="f-active"><h2 id="f-active">Active and inactive</h2><div data-part="active"><p class="loading">Loading…</p></div></section>
    <section aria-labelledby="f-completed"><h2 id="f-completed">Completed</h2><div data-part="completed"></div></section>`.text;
  let tables = null;
  return {
    update(index) {
      if (!tables) {
        const spec = (caption, empty) => ({ caption, empty, columns: columns(index.totals), rowKey: (f) => f.id });
        tables = {
          active: new PagedTable(el.querySelector('[data-part="active"]'), spec("Frameworks", "No framework is registered.")),
          completed: new PagedTable(el.querySelector('[data-part="completed"]'), spec("Completed frameworks", "No framework has completed.")),
        };
      }
      tables.active.spec.columns = columns(index.totals);
      tables.active.update(index.frameworks.filter((f) => !f.completed));
      tables.completed.update(index.frameworks.filter((f) => f.completed));
    },
  };
}

export function mountDetail(el, { params: [id] }) {
  el.innerHTML = html`<h1>Framework <span class="mono">${id}</span></h1>
    <div data-part="info"><p class="loading">Loading…</p></div>
    <section aria-labelledby="fd-tasks"><h2 id="fd-tasks">Active tasks</h2><div data-part="tasks"></div></section>
    <section aria-labelledby="fd-unreachable"><h2 id="fd-unreachable">Unreachable tasks</h2><div data-part="unreachable"></div></section>
    <section aria-labelledby="fd-completed"><h2 id="fd-completed">Completed tasks</h2><div data-part="completed"></div></section>
    <section aria-labelledby="fd-offers"><h2 id="fd-offers">Outstanding offers</h2><div data-part="offers"></div></section>
    <section aria-labelledby="fd-executors"><h2 id="fd-executors">Executors</h2><div data-part="executors"></div></section>`.text;
  const part = (name) => el.querySelector(`[data-part="${name}"]`);
  let tables = null;
  return {
    update(index) {
      const framework = index.frameworkById.get(id);
      if (!framework) {
        part("info").innerHTML = html`<p class="error">The master knows no framework “${id}”: it may have been removed long ago.</p>`.text;
        return;
      }
      if (!tables) {
        const cols = taskColumns(index, { framework: false });
        tables = {
          tasks: new PagedTable(part("tasks"), { caption: "Active tasks", empty: "No active task.", columns: cols, rowKey: (t) => t.task.id }),
          unreachable: new PagedTable(part("unreachable"), { caption: "Unreachable tasks", empty: "No unreachable task.", columns: cols, rowKey: (t) => t.task.id }),
          completed: new PagedTable(part("completed"), { caption: "Completed tasks", empty: "No completed task.", columns: cols, rowKey: (t) => t.task.id }),
          offers: new PagedTable(part("offers"), {
            caption: "Offers",
            empty: "No outstanding offer.",
            columns: [
              { title: "Offer", cell: (o) => html`<span class="mono">${o.id}</span>` },
              { title: "Agent", cell: (o) => html`<a href="${link(["agents", o.slave_id])}">${agentName(index.agentById.get(o.slave_id), o.slave_id)}</a>` },
              ...RESOURCES.map((name) => ({ title: name, num: true, cell: (o) => amount(name, resource(o.resources, name)) })),
            ],
          }),
          executors: new PagedTable(part("executors"), {
            caption: "Executors",
            empty: "No custom executor (command tasks run under the agent's command executor).",
            columns: [
              { title: "ID", cell: (e) => html`<span class="mono">${e.executor_id}</span>` },
              { title: "Name", cell: (e) => e.name || "" },
              { title: "Agent", cell: (e) => html`<a href="${link(["agents", e.slave_id])}">${agentName(index.agentById.get(e.slave_id), e.slave_id)}</a>` },
              { title: "Command", cell: (e) => html`<span class="mono">${e.command?.value || ""}</span>` },
              { title: "Sandbox", cell: (e) => html`<a href="${link(["agents", e.slave_id, "browse"], { framework: id, executor: e.executor_id })}">Sandbox</a>` },
            ],
          }),
        };
      }
      part("info").innerHTML = html`<div class="grid">
        <section class="card" aria-label="Framework information"><dl class="facts">
          <dt>Name</dt><dd>${framework.name}</dd>
          <dt>User</dt><dd>${framework.user}</dd>
          <dt>Roles</dt><dd>${roles(framework)}</dd>
          <dt>Principal</dt><dd>${framework.principal || "—"}</dd>
          <dt>Hostname</dt><dd>${framework.hostname || "—"}</dd>
          <dt>State</dt><dd>${framework.completed ? "completed" : framework.active ? "active" : "inactive"}${framework.connected === false ? ", disconnected" : ""}</dd>
          <dt>Registered</dt><dd>${time(framework.registered_time)}</dd>
          <dt>Failover timeout</dt><dd>${framework.failover_timeout ?? 0} s</dd>
          <dt>DRF share</dt><dd>${(dominantShare(framework, index.totals) * 100).toFixed(1)}%</dd>
          ${framework.webui_url ? html`<dt>Web UI</dt><dd><a href="${framework.webui_url}">${framework.webui_url}</a></dd>` : ""}
        </dl></section>
        <section class="card" aria-label="Framework resources"><table>
          <thead><tr><th scope="col">Resource</th><th scope="col" class="num">Used</th><th scope="col" class="num">Offered</th></tr></thead>
          <tbody>${RESOURCES.map((name) => html`<tr><th scope="row">${name}</th><td class="num">${amount(name, resource(framework.used_resources, name))}</td><td class="num">${amount(name, resource(framework.offered_resources, name))}</td></tr>`)}</tbody>
        </table></section></div>`.text;
      const mine = index.tasks.filter((t) => t.framework === framework);
      tables.tasks.update(mine.filter((t) => t.kind === "active"));
      tables.unreachable.update(mine.filter((t) => t.kind === "unreachable"));
      tables.completed.update(mine.filter((t) => t.kind === "completed"));
      tables.offers.update(framework.offers || []);
      tables.executors.update(framework.executors || []);
    },
  };
}
