// The Mesos web UI: a hash router, and one poll loop of `/master/state` that refreshes
// the current page in place (no reload) about once a second.

import { getJson, buildIndex, leaderUrl } from "./api.js";
import { html } from "./format.js";
import * as dashboard from "./views/dashboard.js";
import * as frameworks from "./views/frameworks.js";
import * as agents from "./views/agents.js";
import * as tasks from "./views/tasks.js";
import * as sandbox from "./views/sandbox.js";
import * as roles from "./views/roles.js";
import * as offers from "./views/offers.js";

/** Pattern of the hash path, the view's `mount`, and the navigation entry it belongs to. */
const ROUTES = [
  [/^$/, dashboard.mount, "dashboard"],
  [/^frameworks$/, frameworks.mountList, "frameworks"],
  [/^frameworks\/([^/]+)$/, frameworks.mountDetail, "frameworks"],
  [/^agents$/, agents.mountList, "agents"],
  [/^agents\/([^/]+)$/, agents.mountDetail, "agents"],
  [/^agents\/([^/]+)\/browse$/, sandbox.mount, "agents"],
  [/^tasks$/, tasks.mount, "tasks"],
  [/^roles$/, roles.mount, "roles"],
  [/^offers$/, offers.mount, "offers"],
];

/** The poll interval: once a second, slower when fetching the state itself is slow (huge clusters). */
const MIN_POLL_MS = 1000;
/** How much allocation history the dashboard's chart keeps. */
const HISTORY_MS = 10 * 60 * 1000;

const app = {
  index: null,
  history: [],
  error: null,
};

const view = document.getElementById("view");
const banner = document.getElementById("banner");
const live = document.getElementById("live");
let current = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  return { path: path.replace(/\/$/, ""), query: new URLSearchParams(query) };
}

function route(userNavigated) {
  current?.unmount?.();
  current = null;
  const { path, query } = parseHash();
  const found = ROUTES.map(([pattern, mount, page]) => [path.match(pattern), mount, page]).find(([m]) => m);
  for (const a of document.querySelectorAll("nav a")) {
    if (found && a.dataset.page === found[2]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  view.innerHTML = "";
  if (!found) {
    view.innerHTML = html`<h1>Not found</h1><p class="error">No page at “${location.hash}”. <a href="#/">Back to the dashboard</a>.</p>`.text;
    return;
  }
  const [match, mount] = found;
  const params = match.slice(1).map(decodeURIComponent);
  current = mount(view, { params, query, app });
  if (app.index) current.update(app.index);
  else view.setAttribute("aria-busy", "true");
  const heading = view.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Mesos` : "Mesos";
  if (userNavigated) view.focus({ preventScroll: true });
}

function showBanner(content, kind) {
  if (!content) {
    banner.hidden = true;
    banner.innerHTML = "";
    return;
  }
  banner.className = kind;
  banner.innerHTML = content.text;
  banner.hidden = false;
}

function record(index) {
  const { cpus, mem } = index.totals;
  const now = index.fetchedAt;
  app.history.push({
    at: now,
    cpus: cpus.total ? cpus.used / cpus.total : 0,
    mem: mem.total ? mem.used / mem.total : 0,
  });
  while (app.history.length && app.history[0].at < now - HISTORY_MS) app.history.shift();
}

async function poll() {
  const started = performance.now();
  try {
    const [state, unreachable] = await Promise.all([
      getJson("/master/state"),
      getJson("/master/webui/unreachable").catch(() => null),
    ]);
    const index = buildIndex(state, unreachable);
    app.index = index;
    app.error = null;
    record(index);
    const leader = leaderUrl(state);
    showBanner(
      leader
        ? html`This master (${state.pid}) is not the leader: the state shown may be stale. <a href="${leader}">Go to the leading master ${state.leader}</a>.`
        : null,
      "warn",
    );
    view.removeAttribute("aria-busy");
    current?.update(index);
    live.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    app.error = error;
    const since = app.index ? ` Showing the state of ${new Date(app.index.fetchedAt).toLocaleTimeString()}.` : "";
    showBanner(html`Lost contact with the master: ${error.message}. Retrying…${since}`, "error");
    live.textContent = "Master unreachable";
  }
  const took = performance.now() - started;
  setTimeout(poll, Math.max(MIN_POLL_MS, 2 * took));
}

window.addEventListener("hashchange", () => route(true));
route(false);
poll();
