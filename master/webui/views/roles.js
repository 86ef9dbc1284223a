// Roles: weight, quota (guarantee, limit, consumed) and allocation, from `/master/roles`.

import { getJson, RESOURCES } from "../api.js";
import { html, amount, resource } from "../format.js";
import { PagedTable } from "../table.js";

function summary(resources) {
  const parts = RESOURCES.map((name) => [name, resource(resources, name)]).filter(([, v]) => v > 0);
  return parts.length ? parts.map(([name, v]) => `${name} ${amount(name, v)}`).join(", ") : "—";
}

export function mount(el) {
  el.innerHTML = html`<h1>Roles</h1><div data-part="table"><p class="loading">Loading…</p></div>`.text;
  const container = el.querySelector('[data-part="table"]');
  const table = new PagedTable(container, {
    caption: "Roles",
    empty: "No role has frameworks, quota or a weight yet.",
    rowKey: (r) => r.name,
    columns: [
      { title: "Role", cell: (r) => r.name },
      { title: "Weight", num: true, cell: (r) => r.weight ?? 1 },
      { title: "Frameworks", num: true, cell: (r) => (r.frameworks || []).length },
      { title: "Quota guarantee", cell: (r) => summary(r.quota?.guarantee) },
      { title: "Quota limit", cell: (r) => summary(r.quota?.limit) },
      { title: "Consumed", cell: (r) => summary(r.quota?.consumed) },
      { title: "Allocated", cell: (r) => summary(r.allocated || r.resources) },
      { title: "Offered", cell: (r) => summary(r.offered) },
      { title: "Reserved", cell: (r) => summary(r.reserved) },
    ],
  });
  let inFlight = false;
  return {
    async update() {
      if (inFlight) return;
      inFlight = true;
      try {
        const roles = await getJson("/master/roles");
        table.update(roles.roles || []);
      } catch (error) {
        container.innerHTML = html`<p class="error">The master did not list its roles: ${error.message}</p>`.text;
      } finally {
        inFlight = false;
      }
    },
  };
}
