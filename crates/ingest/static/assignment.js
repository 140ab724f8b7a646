/*
 * Assignment (issue 12 item 3): who each item is assigned to, set in the
 * item (sent as the tracker change's `assignee`, so it waits in the browser
 * and is ordered like any other change), and a filter by assignee. Hooked
 * into app.js through WB.itemHooks.
 */
(function () {
  'use strict';

  var WB = window.WB;
  var el = WB.el;
  var USERNAME = /^[\p{L}\p{N}@.+_-]{1,150}$/u;
  var filter = null;
  var known = '';

  /** The assignee the item shows: a change still in this browser, else the bridge's. */
  function assigneeOf(view, d) {
    var q = WB.page.localFor(view.id);
    for (var i = q.length - 1; i >= 0; i--) {
      if (q[i].body.assignee !== undefined) return q[i].body.assignee;
    }
    return (d.server && d.server.assignee) || null;
  }

  function setupFilter() {
    var sync = document.getElementById('filter-sync');
    if (!sync) return;
    filter = el('select', { id: 'filter-assignee' },
      el('option', { value: '', text: 'Anyone' }),
      el('option', { value: '-', text: 'Unassigned' }));
    var box = el('div', {}, el('label', { for: 'filter-assignee' }, 'Assignee'), filter);
    sync.parentNode.parentNode.insertBefore(box, sync.parentNode.nextSibling);
    box.parentNode.appendChild(el('datalist', { id: 'assignees' }));
    filter.addEventListener('change', function () { WB.page.applyFilters(); });
  }

  /** Keeps the filter's and the inputs' list of names in line with the items. */
  function refreshNames() {
    if (!filter || !WB.pageState) return;
    var names = {};
    WB.pageState.views.forEach(function (v) { if (v.assignee && v.assignee.shown) names[v.assignee.shown] = true; });
    var list = Object.keys(names).sort();
    if (list.join('\n') === known) return;
    known = list.join('\n');
    var selected = filter.value;
    while (filter.options.length > 2) filter.remove(2);
    var datalist = document.getElementById('assignees');
    if (datalist) datalist.textContent = '';
    list.forEach(function (n) {
      filter.appendChild(el('option', { value: n, text: n }));
      if (datalist) datalist.appendChild(el('option', { value: n }));
    });
    filter.value = list.indexOf(selected) >= 0 || selected === '-' ? selected : '';
  }

  function save(view) {
    var input = view.assignee.input;
    var raw = input.value.trim();
    var next = raw === '' ? null : raw.toLowerCase();
    if (next === view.assignee.shown) return;
    if (next !== null && !USERNAME.test(raw)) {
      view.error.hidden = false;
      view.error.textContent = 'Assignee: letters, digits and @ . + - _ only, at most 150 characters.';
      return;
    }
    var d = WB.page.shown(view.id);
    try {
      WB.client.enqueue({
        wstg_id: view.id, status: d.status || 'not_started', project: WB.pageState.project,
        user: WB.user() || null, assignee: next
      });
    } catch (e) {
      view.error.hidden = false;
      view.error.textContent = 'Not saved: ' + e.message;
      return;
    }
    view.error.hidden = true;
    WB.page.renderItem(view.id);
    WB.page.applyFilters();
  }

  WB.itemHooks = WB.itemHooks || [];
  WB.itemHooks.push({
    build: function (view) {
      var safe = view.id.replace(/[^A-Za-z0-9_-]/g, '_');
      var input = el('input', {
        id: 'assignee-' + safe, type: 'text', list: 'assignees', autocomplete: 'off', spellcheck: 'false',
        maxlength: 150, placeholder: 'Unassigned', class: 'assignee-input'
      });
      var field = el('div', { class: 'field assignee-field' },
        el('label', { for: 'assignee-' + safe }, 'Assigned to', el('span', { class: 'visually-hidden' }, ' ' + view.id)), input);
      var controls = view.root.querySelector('.item-controls');
      (controls || view.root).appendChild(field);
      view.assignee = { input: input, shown: null };
      input.addEventListener('change', function () { save(view); });
      input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); save(view); } });
      if (!filter) setupFilter();
    },
    render: function (view, d) {
      if (!view.assignee) return;
      var who = assigneeOf(view, d);
      view.assignee.shown = who;
      view.root.dataset.assignee = who || '';
      if (document.activeElement !== view.assignee.input) view.assignee.input.value = who || '';
      refreshNames();
    },
    keeps: function (view) {
      var want = filter ? filter.value : '';
      if (!want || !view.assignee) return true;
      return want === '-' ? !view.assignee.shown : view.assignee.shown === want;
    }
  });
})();
