// A table that renders one page of rows at a time, so a list of 50,000 tasks costs
// the DOM no more than 50 rows. Re-rendered on every poll without losing the page or
// the keyboard focus.

import { html } from "./format.js";

export const PAGE_SIZE = 50;

export class PagedTable {
  /**
   * @param {HTMLElement} container where the table and its pager go
   * @param {{caption: string, columns: {title: string, num?: boolean, cell: (row) => any}[], empty: string, rowKey?: (row) => string}} spec
   */
  constructor(container, spec) {
    this.container = container;
    this.spec = spec;
    this.page = 0;
    this.rows = [];
    container.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-page-step]");
      if (!button) return;
      this.page += Number(button.dataset.pageStep);
      this.render();
    });
  }

  /** Shows `rows` (any length: only the current page is rendered). */
  update(rows) {
    this.rows = rows;
    this.render();
  }

  /** Back to the first page, e.g. when a filter changes. */
  reset() {
    this.page = 0;
  }

  render() {
    const { caption, columns, empty, rowKey } = this.spec;
    const pages = Math.max(1, Math.ceil(this.rows.length / PAGE_SIZE));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    const first = this.page * PAGE_SIZE;
    const slice = this.rows.slice(first, first + PAGE_SIZE);
    const focused = this.container.contains(document.activeElement)
      ? document.activeElement.dataset.pageStep
      : undefined;
    if (this.rows.length === 0) {
      this.container.innerHTML = html`<p class="empty">${empty}</p>`.text;
      return;
    }
    const body = slice.map((row) => html`<tr${rowKey ? html` data-key="${rowKey(row)}"` : ""}>${columns.map((c) => html`<td${c.num ? html` class="num"` : ""}>${c.cell(row)}</td>`)}</tr>`);
    const pager = pages > 1
      ? html`<div class="pager" role="navigation" aria-label="${caption}: pages">
          <button type="button" data-page-step="-1" ${this.page === 0 ? html`disabled` : ""}>Previous</button>
          <span>Page ${this.page + 1} of ${pages}</span>
          <button type="button" data-page-step="1" ${this.page === pages - 1 ? html`disabled` : ""}>Next</button>
        </div>`
      : "";
    this.container.innerHTML = html`
      <table>
        <caption>${caption}: ${first + 1}–${first + slice.length} of ${this.rows.length.toLocaleString()}</caption>
        <thead><tr>${columns.map((c) => html`<th scope="col"${c.num ? html` class="num"` : ""}>${c.title}</th>`)}</tr></thead>
        <tbody>${body}</tbody>
      </table>${pager}`.text;
    if (focused !== undefined) {
      const again = this.container.querySelector(`button[data-page-step="${focused}"]:not([disabled])`)
        || this.container.querySelector("button[data-page-step]:not([disabled])");
      again?.focus();
    }
  }
}
