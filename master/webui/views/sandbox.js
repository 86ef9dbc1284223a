// The sandbox browser: a directory's listing and a file's tail, read from the agent's
// `/files/browse` and `/files/read` (through the master), and a download link.
// `?path=<dir>` browses a directory; `?framework=&executor=&task=` first finds the
// executor's sandbox in the agent's `/state`; `&file=<path>` shows a file.

import { getJson, agentUrl } from "../api.js";
import { html, link, bytes, time } from "../format.js";
import { PagedTable } from "../table.js";

const FOLLOW_MS = 1000;
/** How much of a file's end is shown when it is opened. */
const TAIL_BYTES = 64 * 1024;
/** The most the viewer keeps in the page; older text is dropped from the top. */
const MAX_SHOWN = 1024 * 1024;

/** The sandbox of the executor that ran `task` (or is `executor`) of `framework`. */
function findSandbox(agentState, { framework, executor, task }) {
  const frameworks = [...(agentState.frameworks || []), ...(agentState.completed_frameworks || [])];
  for (const f of frameworks.filter((f) => !framework || f.id === framework)) {
    for (const e of [...(f.executors || []), ...(f.completed_executors || [])]) {
      const tasks = [...(e.tasks || []), ...(e.queued_tasks || []), ...(e.completed_tasks || [])];
      if ((executor && e.id === executor) || (task && (e.id === task || tasks.some((t) => t.id === task)))) {
        return e.directory;
      }
    }
  }
  return null;
}

function parent(path) {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(0, trimmed.lastIndexOf("/")) || "/";
}

function basename(path) {
  return path.replace(/\/+$/, "").split("/").pop();
}

export function mount(el, { params: [agentId], query }) {
  el.innerHTML = html`<h1>Sandbox</h1>
    <p><a href="${link(["agents", agentId])}">Agent <span class="mono">${agentId}</span></a></p>
    <div data-part="body"><p class="loading">Finding the sandbox…</p></div>`.text;
  const body = el.querySelector('[data-part="body"]');
  const file = query.get("file");
  let stopped = false;
  let timer = null;

  const fail = (what, error) => {
    body.innerHTML = html`<p class="error">${what}: ${error.message}</p>`.text;
  };

  const browse = async (dir) => {
    const crumbs = [];
    let at = dir;
    while (at && at !== "/") {
      crumbs.unshift(at);
      at = parent(at);
    }
    body.innerHTML = html`<nav aria-label="Path"><ol class="crumbs mono">${crumbs.map((p, i) => html`<li>${i === crumbs.length - 1 ? html`<span aria-current="location">${basename(p)}</span>` : html`<a href="${link(["agents", agentId, "browse"], { path: p })}">${basename(p)}</a>`}</li>`)}</ol></nav>
      <div data-part="listing"><p class="loading">Listing…</p></div>`.text;
    let entries;
    try {
      entries = await getJson(agentUrl(agentId, "files/browse", { path: dir }));
    } catch (error) {
      const gone = error.status === 404 ? " (the sandbox may have been garbage collected)" : "";
      return fail(`Could not list ${dir}${gone}`, error);
    }
    if (stopped) return;
    entries.sort((a, b) => (b.mode.startsWith("d") - a.mode.startsWith("d")) || a.path.localeCompare(b.path));
    new PagedTable(body.querySelector('[data-part="listing"]'), {
      caption: dir,
      empty: "This directory is empty.",
      rowKey: (e) => basename(e.path),
      columns: [
        { title: "Name", cell: (e) => html`<a class="mono" href="${e.mode.startsWith("d") ? link(["agents", agentId, "browse"], { path: e.path }) : link(["agents", agentId, "browse"], { path: dir, file: e.path })}">${basename(e.path)}${e.mode.startsWith("d") ? "/" : ""}</a>` },
        { title: "Mode", cell: (e) => html`<span class="mono">${e.mode}</span>` },
        { title: "Size", num: true, cell: (e) => bytes(e.size) },
        { title: "Modified", cell: (e) => time(e.mtime) },
        { title: "Download", cell: (e) => (e.mode.startsWith("d") ? "" : html`<a href="${agentUrl(agentId, "files/download", { path: e.path })}" download="${basename(e.path)}" aria-label="Download ${basename(e.path)}">Download</a>`) },
      ],
    }).update(entries);
  };

  const view = async (dir, path) => {
    body.innerHTML = html`<p><a href="${link(["agents", agentId, "browse"], { path: dir })}">Back to ${dir}</a></p>
      <h2 class="mono">${basename(path)}</h2>
      <div class="toolbar">
        <label><input type="checkbox" name="follow" checked> Follow the end of the file</label>
        <a href="${agentUrl(agentId, "files/download", { path })}" download="${basename(path)}">Download</a>
        <span data-part="status" role="status"></span>
      </div>
      <pre class="file" id="file-content" tabindex="0" aria-label="Content of ${basename(path)}"></pre>`.text;
    const pre = body.querySelector("pre");
    const follow = body.querySelector('input[name="follow"]');
    const status = body.querySelector('[data-part="status"]');
    let offset;
    try {
      const end = await getJson(agentUrl(agentId, "files/read", { path, offset: -1 }));
      offset = Math.max(0, end.offset - TAIL_BYTES);
    } catch (error) {
      return fail(`Could not read ${path}`, error);
    }
    const read = async () => {
      try {
        // Read until caught up: one read returns at most the agent's page limit.
        for (;;) {
          const chunk = await getJson(agentUrl(agentId, "files/read", { path, offset }));
          if (stopped || !chunk.data) break;
          pre.append(chunk.data);
          offset = chunk.offset + chunk.data.length;
        }
        if (pre.textContent.length > MAX_SHOWN) pre.textContent = pre.textContent.slice(-MAX_SHOWN);
        status.textContent = `${bytes(offset)} read`;
        if (follow.checked) pre.scrollTop = pre.scrollHeight;
      } catch (error) {
        status.textContent = `Could not read more: ${error.message}`;
      }
      if (!stopped) timer = setTimeout(read, FOLLOW_MS);
    };
    read();
  };

  const start = async () => {
    let dir = query.get("path");
    if (!dir) {
      try {
        const agentState = await getJson(agentUrl(agentId, "state"));
        dir = findSandbox(agentState, { framework: query.get("framework"), executor: query.get("executor"), task: query.get("task") });
      } catch (error) {
        return fail("The agent did not answer", error);
      }
      if (stopped) return;
      // An executor that has exited is no longer in the agent's state, but its latest
      // run stays attached under Mesos's virtual path until garbage collected (a
      // command task's executor is named after the task).
      const executor = query.get("executor") || query.get("task");
      if (!dir && query.get("framework") && executor) {
        dir = `/frameworks/${query.get("framework")}/executors/${executor}/runs/latest`;
      }
      if (!dir) {
        body.innerHTML = html`<p class="error">The agent has no sandbox for this task: it may have been garbage collected.</p>`.text;
        return;
      }
      history.replaceState(null, "", link(["agents", agentId, "browse"], { path: dir, file: file || undefined }));
    }
    if (file) view(dir, file);
    else browse(dir);
  };
  start();
  return {
    update() {},
    unmount() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
