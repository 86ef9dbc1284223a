// The dashboard: who leads, agents, frameworks, tasks by state, cluster resources
// (total / allocated / offered / idle) and allocation over the last minutes.

import { RESOURCES, TASK_STATES } from "../api.js";
import { html, amount, time, ago, state } from "../format.js";

/** States always listed, even at zero; the others appear once a task is in them. */
const MAIN_STATES = ["TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST"];

export function mount(el, { app }) {
  el.innerHTML = html`
    <h1>Cluster</h1>
    <div class="grid">
      <section class="card" aria-labelledby="d-master"><h2 id="d-master">Master</h2><div data-part="master"><p class="loading">Loading…</p></div></section>
      <section class="card" aria-labelledby="d-agents"><h2 id="d-agents">Agents</h2><div data-part="agents"></div></section>
      <section class="card" aria-labelledby="d-frameworks"><h2 id="d-frameworks">Frameworks</h2><div data-part="frameworks"></div></section>
      <section class="card" aria-labelledby="d-tasks"><h2 id="d-tasks">Tasks</h2><div data-part="tasks"></div></section>
    </div>
    <section aria-labelledby="d-resources"><h2 id="d-resources">Resources</h2><div data-part="resources"></div></section>
    <section aria-labelledby="d-chart"><h2 id="d-chart">Allocation, last 10 minutes</h2><div data-part="chart"></div></section>`.text;
  const part = (name) => el.querySelector(`[data-part="${name}"]`);
  return {
    update(index) {
      const s = index.state;
      part("master").innerHTML = html`<dl class="facts">
        ${s.cluster ? html`<dt>Cluster</dt><dd>${s.cluster}</dd>` : ""}
        <dt>Leader</dt><dd class="mono" id="leader">${s.leader || "none"}</dd>
        <dt>Version</dt><dd>${s.version}</dd>
        <dt>Started</dt><dd title="${time(s.start_time)}">${ago(s.start_time)}</dd>
        <dt>Elected</dt><dd title="${time(s.elected_time)}">${ago(s.elected_time)}</dd>
      </dl>`.text;
      const deactivated = index.agents.filter((a) => !a.active).length;
      part("agents").innerHTML = html`<dl class="facts">
        <dt>Active</dt><dd class="big" id="agents-active">${index.agents.length - deactivated}</dd>
        <dt>Deactivated</dt><dd id="agents-deactivated">${deactivated}</dd>
        <dt>Unreachable</dt><dd id="agents-unreachable">${s.unreachable_slaves ?? index.unreachableAgents.length}</dd>
      </dl>`.text;
      const active = index.frameworks.filter((f) => !f.completed && f.active).length;
      const inactive = index.frameworks.filter((f) => !f.completed && !f.active).length;
      const completed = index.frameworks.filter((f) => f.completed).length;
      part("frameworks").innerHTML = html`<dl class="facts">
        <dt>Active</dt><dd class="big" id="frameworks-active">${active}</dd>
        <dt>Inactive</dt><dd id="frameworks-inactive">${inactive}</dd>
        <dt>Completed</dt><dd id="frameworks-completed">${completed}</dd>
      </dl>`.text;
      const shown = TASK_STATES.filter((st) => MAIN_STATES.includes(st) || index.taskCounts[st] > 0);
      part("tasks").innerHTML = html`<dl class="facts">${shown.map((st) => html`<dt>${state(st)}</dt><dd data-task-count="${st}">${index.taskCounts[st] || 0}</dd>`)}</dl>`.text;
      part("resources").innerHTML = resourcesTable(index.totals).text;
      part("chart").innerHTML = chart(app.history).text;
    },
  };
}

function resourcesTable(totals) {
  const rows = RESOURCES.map((name) => {
    const { total, used, offered } = totals[name];
    const idle = Math.max(0, total - used - offered);
    return html`<tr data-resource="${name}">
      <th scope="row">${name}</th>
      <td class="num">${amount(name, total)}</td>
      <td class="num">${amount(name, used)}</td>
      <td class="num">${amount(name, offered)}</td>
      <td class="num">${amount(name, idle)}</td>
      <td><meter min="0" max="${total || 1}" value="${used}" aria-label="${name} allocated: ${total ? Math.round((100 * used) / total) : 0}%"></meter></td>
    </tr>`;
  });
  return html`<table>
    <thead><tr><th scope="col">Resource</th><th scope="col" class="num">Total</th><th scope="col" class="num">Allocated</th><th scope="col" class="num">Offered</th><th scope="col" class="num">Idle</th><th scope="col">Allocated share</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

/** An SVG line chart of the cpus and mem allocated shares; no library, no canvas. */
function chart(history) {
  if (history.length < 2) return html`<p class="empty">Collecting samples…</p>`;
  const width = 600;
  const height = 100;
  const first = history[0].at;
  const span = Math.max(1, history[history.length - 1].at - first);
  const points = (key) => history
    .map((sample) => `${(((sample.at - first) / span) * width).toFixed(1)},${(height - sample[key] * height).toFixed(1)}`)
    .join(" ");
  const last = history[history.length - 1];
  const label = `Allocated share over the last ${Math.round(span / 60000) || "<1"} min: cpus now ${Math.round(last.cpus * 100)}%, mem now ${Math.round(last.mem * 100)}%`;
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${label}">
      <line class="grid-line" x1="0" y1="${height / 2}" x2="${width}" y2="${height / 2}"></line>
      <polyline class="cpus" points="${points("cpus")}"></polyline>
      <polyline class="mem" points="${points("mem")}"></polyline>
    </svg>
    <p class="legend"><span class="cpus">cpus ${Math.round(last.cpus * 100)}%</span><span class="mem">mem ${Math.round(last.mem * 100)}%</span><span>(0–100% of the cluster)</span></p>`;
}
