// Offers: every outstanding offer, its framework, agent and resources.

import { RESOURCES } from "../api.js";
import { html, amount, resource, link, agentName } from "../format.js";
import { PagedTable } from "../table.js";

export function mount(el) {
  el.innerHTML = html`<h1>Offers</h1><div data-part="table"><p class="loading">Loading…</p></div>`.text;
  let index = null;
  const table = new PagedTable(el.querySelector('[data-part="table"]'), {
    caption: "Outstanding offers",
    empty: "No offer is outstanding.",
    rowKey: ({ offer }) => offer.id,
    columns: [
      { title: "Offer", cell: ({ offer }) => html`<span class="mono">${offer.id}</span>` },
      { title: "Framework", cell: ({ framework }) => html`<a href="${link(["frameworks", framework.id])}">${framework.name || framework.id}</a>` },
      { title: "Agent", cell: ({ offer }) => html`<a href="${link(["agents", offer.slave_id])}">${agentName(index.agentById.get(offer.slave_id), offer.slave_id)}</a>` },
      ...RESOURCES.map((name) => ({ title: name, num: true, cell: ({ offer }) => amount(name, resource(offer.resources, name)) })),
    ],
  });
  return {
    update(next) {
      index = next;
      table.update(index.offers);
    },
  };
}
