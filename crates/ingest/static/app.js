/*
 * The checklist page: the configured WSTG catalogue by category, a status and
 * notes per item, filters, progress, and each item's DefectDojo finding and
 * sync state. Changes go through WSTGSync.Client (wstg-sync.js): saved in
 * this browser first, sent in order, retried with backoff, never dropped.
 * DefectDojo-side changes arrive on the live feed and update the page in
 * place.
 */
(function () {
  'use strict';

  var WB = window.WB;
  var client = WB.client;
  var el = WB.el;
  var $ = function (id) { return document.getElementById(id); };

  var STATUSES = ['not_started', 'in_progress', 'blocked', 'done', 'not_applicable'];
  var CACHE = 'wstg-bridge:cache:';

  var state = WB.pageState = {
    project: null,
    catalogue: null,
    server: new Map(), // wstg_id -> item as the bridge last told us
    views: new Map(), // wstg_id -> DOM handles
    categories: new Map(), // category_id -> DOM handles
    loadedItems: false
  };

  // ---- messages ------------------------------------------------------------

  function message(kind, text, opts) {
    var o = opts || {};
    var box = el('div', { class: 'message ' + kind, role: kind === 'error' ? 'alert' : 'status', dataset: o.key ? { key: o.key } : {} },
      el('p', {}, text),
      o.details ? el('ul', {}, o.details.map(function (d) { return el('li', {}, d); })) : null,
      el('button', {
        type: 'button', class: 'dismiss', 'aria-label': 'Dismiss this message',
        onclick: function () { box.remove(); if (o.onDismiss) o.onDismiss(); }
      }, '×'));
    if (o.key) {
      var old = $('messages').querySelector('[data-key="' + CSS.escape(o.key) + '"]');
      if (old) old.remove();
    }
    $('messages').appendChild(box);
    return box;
  }

  function showRejected() {
    client.rejected().forEach(function (r) {
      if ((r.body.project || state.project) !== state.project) return;
      message('error',
        'The bridge refused the change of ' + r.body.wstg_id + ' (status “' + r.body.status + '”): ' + r.reason,
        { key: 'rejected-' + r.key, onDismiss: function () { client.dismissRejected(r.key); } });
    });
  }

  // ---- building the checklist ----------------------------------------------

  function build(catalogue) {
    var main = $('checklist');
    main.textContent = '';
    state.views.clear();
    state.categories.clear();
    var filterCat = $('filter-category');
    while (filterCat.options.length > 1) filterCat.remove(1);
    var byCat = new Map();
    catalogue.items.forEach(function (it) {
      if (!byCat.has(it.category_id)) byCat.set(it.category_id, []);
      byCat.get(it.category_id).push(it);
    });
    var cats = (catalogue.categories && catalogue.categories.length)
      ? catalogue.categories
      : Array.from(byCat.keys()).map(function (id) { return { id: id, name: byCat.get(id)[0].category_name }; });
    cats.forEach(function (cat) {
      var items = byCat.get(cat.id) || [];
      if (!items.length) return;
      filterCat.appendChild(el('option', { value: cat.id, text: cat.id + ' · ' + cat.name }));
      var headingId = 'cat-' + cat.id;
      var progress = el('progress', { max: items.length, value: 0, 'aria-labelledby': headingId + '-progress-label' });
      var progressText = el('span', { class: 'cat-progress-text', id: headingId + '-progress-label' });
      var list = el('div', { class: 'items' });
      var section = el('section', { class: 'category', 'aria-labelledby': headingId, dataset: { category: cat.id } },
        el('div', { class: 'cat-head' },
          el('h2', { id: headingId }, el('span', { class: 'cat-id' }, cat.id), ' ', cat.name),
          el('div', { class: 'cat-progress' }, progress, progressText)),
        list);
      state.categories.set(cat.id, { section: section, progress: progress, text: progressText, items: items, name: cat.name });
      items.forEach(function (it) { list.appendChild(buildItem(it)); });
      main.appendChild(section);
    });
    if (window.WBProvenance) WBProvenance.credit(catalogue);
    $('catalogue-version').textContent = (catalogue.methodology_name ? catalogue.methodology_name + ' ' + catalogue.methodology_version : 'Catalogue version ' + catalogue.version) + ', ' + catalogue.items.length + ' tests.';
  }

  function buildItem(it) {
    var id = it.wstg_id;
    var safe = id.replace(/[^A-Za-z0-9_-]/g, '_');
    var select = el('select', { id: 'status-' + safe, 'aria-describedby': 'sync-' + safe },
      el('option', { value: '', text: 'Not set' }),
      STATUSES.map(function (s) { return el('option', { value: s, text: WB.STATUS_LABELS[s] }); }));
    var notes = el('textarea', { id: 'notes-' + safe, rows: 2, placeholder: 'Notes (saved when you leave the field, or Ctrl+Enter)' });
    var badge = el('span', { class: 'badge', id: 'sync-' + safe, dataset: { state: 'none' } }, WB.SYNC_LABELS.none);
    var finding = el('span', { class: 'finding' });
    var error = el('p', { class: 'item-error', hidden: true });
    var objectives = (it.objectives || []).length
      ? el('details', { class: 'objectives' },
        el('summary', {}, 'Objectives'),
        el('ul', {}, it.objectives.map(function (o) { return el('li', {}, o); })))
      : null;
    var titleLink = it.guide_url
      ? el('a', { href: it.guide_url, target: '_blank', rel: 'noopener noreferrer', title: 'Open the WSTG guide page' }, it.title)
      : el('span', {}, it.title);
    var root = el('article', { class: 'item', id: 'item-' + safe, dataset: { id: id, status: 'unset', sync: 'none' } },
      el('div', { class: 'item-head' },
        el('h3', {}, el('span', { class: 'wid' }, id), ' ', titleLink),
        el('div', { class: 'item-meta' }, badge, finding)),
      objectives,
      el('div', { class: 'item-controls' },
        el('div', { class: 'field status-field' },
          el('label', { for: 'status-' + safe }, 'Status', el('span', { class: 'visually-hidden' }, ' of ' + id)), select),
        el('div', { class: 'field notes-field' },
          el('label', { for: 'notes-' + safe }, 'Notes', el('span', { class: 'visually-hidden' }, ' for ' + id)), notes)),
      error);
    var view = {
      id: id, item: it, root: root, select: select, notes: notes, badge: badge, finding: finding, error: error,
      renderedNotes: '', search: (id + ' ' + it.title + ' ' + (it.objectives || []).join(' ')).toLowerCase()
    };
    select.addEventListener('change', function () { onStatusChange(view); });
    notes.addEventListener('change', function () { onNotesChange(view); });
    notes.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onNotesChange(view); }
    });
    state.views.set(id, view);
    hooks('build', view);
    return root;
  }

  // ---- what an item shows ----------------------------------------------------

  function localFor(id) {
    var project = state.project;
    var q = client.pendingFor(id).filter(function (e) { return (e.body.project || project) === project; });
    var inflight = client.inflight();
    if (inflight && inflight.body.wstg_id === id && (inflight.body.project || project) === project && !q.some(function (e) { return e.key === inflight.key; })) {
      q.unshift(inflight);
    }
    return q;
  }

  function shown(id) {
    var s = state.server.get(id) || {};
    var q = localFor(id);
    if (q.length) {
      var last = q[q.length - 1].body;
      var inflight = client.inflight();
      return {
        status: last.status,
        notes: last.notes != null ? last.notes : (s.notes || ''),
        sync: inflight && inflight.body.wstg_id === id && q.length === 1 ? 'sending' : 'queued',
        waiting: q.length,
        server: s
      };
    }
    return { status: s.status || null, notes: s.notes || '', sync: s.sync_state || 'none', waiting: 0, server: s };
  }

  function renderItem(id, opts) {
    var v = state.views.get(id);
    if (!v) return;
    var d = shown(id);
    v.root.dataset.status = d.status || 'unset';
    v.root.dataset.sync = d.sync;
    if (v.select.value !== (d.status || '')) v.select.value = d.status || '';
    // Never overwrite notes the user is typing.
    var typing = document.activeElement === v.notes && v.notes.value !== v.renderedNotes;
    if (!typing && v.notes.value !== d.notes) v.notes.value = d.notes;
    if (!typing) v.renderedNotes = d.notes;
    var label = WB.SYNC_LABELS[d.sync] || d.sync;
    if (d.waiting > 1) label += ' (' + d.waiting + ')';
    v.badge.textContent = label;
    v.badge.dataset.state = d.sync;
    var s = d.server;
    v.badge.title = s.last_sync_at
      ? 'Last sync ' + WB.fmtTime(s.last_sync_at) + (s.last_sync_direction ? ' (' + s.last_sync_direction + ')' : '')
      : 'Never synced';
    v.finding.textContent = '';
    if (s.finding_id != null) {
      v.finding.appendChild(s.finding_url
        ? el('a', { href: s.finding_url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': 'DefectDojo finding ' + s.finding_id + ' of ' + id }, 'Finding #' + s.finding_id)
        : el('span', {}, 'Finding #' + s.finding_id));
    }
    var problem = (s.sync_state === 'failed' || s.sync_state === 'conflict') && !d.waiting ? s.last_error : null;
    if (s.sync_state === 'conflict' && !problem && !d.waiting) problem = 'DefectDojo and the tracker changed differently; the bridge resolves it by its conflict policy.';
    v.error.hidden = !problem;
    v.error.textContent = problem || '';
    if (opts && opts.flash) {
      v.root.classList.remove('flash');
      void v.root.offsetWidth;
      v.root.classList.add('flash');
    }
    v.search = (id + ' ' + v.item.title + ' ' + (v.item.objectives || []).join(' ') + ' ' + d.notes).toLowerCase();
    if (window.WBProvenance) WBProvenance.render(v, d);
    if (window.WBVulns) window.WBVulns.render(v, s, state.project); // vulnerabilities.js
    hooks('render', v, d);
  }

  // Extensions of an item (assignment.js, comments.js): build(view),
  // render(view, shown), keeps(view, shown) for the filters.
  function hooks(name, v, d) {
    return (WB.itemHooks || []).every(function (h) { return !h[name] || h[name](v, d) !== false; });
  }

  WB.page = { shown: shown, localFor: localFor, renderItem: renderItem, applyFilters: applyFilters };

  function renderAll() {
    state.views.forEach(function (_, id) { renderItem(id); });
    renderProgress();
    applyFilters();
  }

  function renderProgress() {
    var counts = { unset: 0 };
    STATUSES.forEach(function (s) { counts[s] = 0; });
    var total = 0;
    var complete = 0;
    state.categories.forEach(function (cat) {
      var done = 0;
      cat.items.forEach(function (it) {
        var st = shown(it.wstg_id).status;
        counts[st || 'unset'] += 1;
        if (st === 'done' || st === 'not_applicable') done += 1;
      });
      cat.progress.value = done;
      cat.text.textContent = done + ' of ' + cat.items.length + ' complete';
      total += cat.items.length;
      complete += done;
    });
    $('overall-progress').max = total || 1;
    $('overall-progress').value = complete;
    $('overall-text').textContent = complete + ' of ' + total + ' complete (' + (total ? Math.round(100 * complete / total) : 0) + ' %)';
    var ul = $('status-counts');
    ul.textContent = '';
    ['unset'].concat(STATUSES).forEach(function (s) {
      ul.appendChild(el('li', { dataset: { status: s } },
        el('span', { class: 'dot' }), (s === 'unset' ? 'Not set' : WB.STATUS_LABELS[s]) + ': ', el('strong', {}, String(counts[s]))));
    });
  }

  // ---- filters ---------------------------------------------------------------

  function applyFilters() {
    var text = $('filter-text').value.trim().toLowerCase();
    var status = $('filter-status').value;
    var category = $('filter-category').value;
    var sync = $('filter-sync').value;
    var visible = 0;
    var total = 0;
    state.categories.forEach(function (cat, catId) {
      var any = false;
      cat.items.forEach(function (it) {
        var v = state.views.get(it.wstg_id);
        var d = shown(it.wstg_id);
        total += 1;
        var ok = (!category || category === catId) &&
          (!status || (d.status || 'unset') === status) &&
          (!sync || (sync === 'waiting' ? ['pending', 'queued', 'sending'].indexOf(d.sync) >= 0 : d.sync === sync)) &&
          (!text || text.split(/\s+/).every(function (w) { return v.search.indexOf(w) >= 0; })) &&
          hooks('keeps', v, d);
        v.root.hidden = !ok;
        if (ok) { any = true; visible += 1; }
      });
      cat.section.hidden = !any;
    });
    $('filter-result').textContent = visible === total ? 'Showing all ' + total + ' tests.' : 'Showing ' + visible + ' of ' + total + ' tests.';
  }

  // ---- changes from the user -------------------------------------------------

  function send(view, status, notes) {
    view.error.hidden = true;
    try {
      client.enqueue({ wstg_id: view.id, status: status, notes: notes, project: state.project, user: WB.user() || null });
    } catch (e) {
      view.error.hidden = false;
      view.error.textContent = 'Not saved: ' + e.message;
      return;
    }
    renderItem(view.id);
    renderProgress();
    renderSyncStatus();
  }

  function onStatusChange(view) {
    var status = view.select.value;
    if (!status) {
      // "Not set" cannot be sent: the bridge knows only the five statuses.
      view.select.value = shown(view.id).status || '';
      view.error.hidden = false;
      view.error.textContent = 'Choose one of the five statuses; an item cannot be set back to “not set”.';
      return;
    }
    send(view, status, view.notes.value);
  }

  function onNotesChange(view) {
    var d = shown(view.id);
    if (view.notes.value === d.notes) return;
    view.renderedNotes = view.notes.value;
    send(view, d.status || 'not_started', view.notes.value);
  }

  // ---- changes from the bridge -----------------------------------------------

  function applyServerItem(item, flash) {
    var id = item.wstg_id;
    var prev = state.server.get(id);
    if (client.remoteApplies(item) || !prev) {
      state.server.set(id, item);
    } else {
      // Older than a change of ours: keep what we know, but learn the finding.
      state.server.set(id, Object.assign({}, prev, {
        finding_id: item.finding_id != null ? item.finding_id : prev.finding_id,
        finding_url: item.finding_url || prev.finding_url,
        vulnerabilities: item.vulnerabilities || prev.vulnerabilities
      }));
    }
    renderItem(id, { flash: flash });
  }

  function loadItems() {
    var project = state.project;
    return WB.getJSON('/api/wstg/items?project=' + encodeURIComponent(project)).then(function (body) {
      if (project !== state.project) return;
      (body.items || []).forEach(function (it) { applyServerItem(it, false); });
      state.loadedItems = true;
      try { localStorage.setItem(CACHE + 'items:' + project, JSON.stringify({ at: new Date().toISOString(), items: body.items })); } catch (e) { /* full */ }
      var stale = $('messages').querySelector('[data-key="stale"]');
      if (stale) stale.remove();
      renderAll();
    }, function (err) {
      if (err.status === 401 || err.status === 403) { settings.open('The bridge needs a token to show this checklist.'); return; }
      var cached = null;
      try { cached = JSON.parse(localStorage.getItem(CACHE + 'items:' + project)); } catch (e) { cached = null; }
      if (cached && !state.loadedItems) {
        cached.items.forEach(function (it) { state.server.set(it.wstg_id, it); });
        renderAll();
        message('warning', 'The bridge is unreachable (' + err.message + '). Showing the state saved in this browser at ' + WB.fmtTime(cached.at) + '; your changes wait here.', { key: 'stale' });
      } else if (!state.loadedItems) {
        message('warning', 'Could not load the items: ' + err.message + ' They load when the bridge answers again.', { key: 'stale' });
      }
    });
  }

  function loadCatalogue(project) {
    return WB.getJSON('/api/wstg/catalogue' + (project ? '?project=' + encodeURIComponent(project) : '')).then(function (cat) {
      try { localStorage.setItem(CACHE + 'catalogue', JSON.stringify(cat)); } catch (e) { /* full */ }
      return cat;
    }, function (err) {
      var cached = null;
      try { cached = JSON.parse(localStorage.getItem(CACHE + 'catalogue')); } catch (e) { cached = null; }
      if (cached) return cached;
      throw err;
    });
  }

  // ---- the sync bar ----------------------------------------------------------

  function renderSyncStatus() {
    var n = client.queue().filter(function (e) { return (e.body.project || state.project) === state.project; }).length;
    var all = client.queue().length;
    var text;
    var st = client.state;
    if (st === 'auth') {
      text = 'The bridge needs a token. ' + all + ' change(s) wait in this browser: open Settings.';
    } else if (all && st === 'offline') {
      text = 'The bridge is unreachable: ' + all + ' change(s) wait in this browser and will be sent in order.';
    } else if (all) {
      text = 'Sending ' + all + ' change(s)…';
    } else {
      var pending = 0;
      state.server.forEach(function (it) { if (it.sync_state === 'pending') pending += 1; });
      text = 'All changes are saved in the bridge.' + (pending ? ' ' + pending + ' on their way to DefectDojo.' : '');
    }
    var p = $('sync-status');
    if (p.textContent !== text) p.textContent = text;
    p.dataset.state = all ? st : 'idle';
    p.dataset.queued = String(n);
    $('retry').hidden = !(all && (st === 'offline' || st === 'auth'));
    renderRetryIn();
  }

  function renderRetryIn() {
    var btn = $('retry');
    if (btn.hidden) return;
    var secs = client.nextRetryAt ? Math.max(0, Math.ceil((client.nextRetryAt - Date.now()) / 1000)) : 0;
    btn.textContent = secs ? 'Retry now (next try in ' + secs + ' s)' : 'Retry now';
  }

  function renderLive(s) {
    var p = $('live-status');
    var words = { live: 'on', connecting: 'connecting…', offline: 'reconnecting…', auth: 'token needed', closed: 'off' };
    p.dataset.state = s;
    p.textContent = 'Live updates from DefectDojo: ' + (words[s] || s);
  }

  // ---- import and export -----------------------------------------------------

  function doExport() {
    var project = state.project;
    client.request('GET', '/api/wstg/export?project=' + encodeURIComponent(project)).then(function (res) {
      if (!res.ok) {
        message('error', 'Export failed: ' + (res.kind === 'network' ? 'the bridge could not be reached.' : (res.body && res.body.error) || res.status));
        return;
      }
      var waiting = client.queue().filter(function (e) { return (e.body.project || project) === project; }).length;
      var blob = new Blob([JSON.stringify(res.body, null, 2) + '\n'], { type: 'application/json' });
      var a = el('a', { href: URL.createObjectURL(blob), download: 'wstg-' + project.replace(/[^A-Za-z0-9_-]/g, '_') + '-' + new Date().toISOString().slice(0, 10) + '.json' });
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      message('info', 'Exported ' + Object.keys(res.body.results || {}).length + ' items of project “' + project + '”.' +
        (waiting ? ' ' + waiting + ' change(s) still waiting in this browser are not in the file yet.' : ''), { key: 'export' });
    });
  }

  function doImport(file) {
    var project = state.project;
    if (file.size > 8 * 1024 * 1024) {
      message('error', 'Import failed: “' + file.name + '” is larger than 8 MiB.', { key: 'import' });
      return;
    }
    file.text().then(function (text) {
      try { JSON.parse(text); } catch (e) {
        message('error', 'Import failed: “' + file.name + '” is not JSON (' + e.message + ').', { key: 'import' });
        return;
      }
      var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now());
      var path = '/api/wstg/import?project=' + encodeURIComponent(project) + (WB.user() ? '&user=' + encodeURIComponent(WB.user()) : '');
      message('info', 'Importing “' + file.name + '”…', { key: 'import' });
      client.request('POST', path, text, { 'Idempotency-Key': 'page-' + key }, 60000).then(function (res) {
        var b = res.body || {};
        var details = (b.rejected || []).map(function (r) { return r.wstg_id + ': ' + r.reason; });
        if (res.ok) {
          message(details.length ? 'warning' : 'info',
            'Imported “' + file.name + '” into project “' + project + '”: ' + b.accepted + ' change(s) queued for DefectDojo' +
            (details.length ? ', ' + details.length + ' refused:' : '.'), { key: 'import', details: details });
        } else if (res.kind === 'network') {
          message('error', 'Import failed: the bridge could not be reached. Try again when it is back.', { key: 'import' });
        } else {
          message('error', 'Import failed: ' + (b.error || ('the bridge answered ' + res.status)), { key: 'import', details: details });
        }
      });
    }, function (e) {
      message('error', 'Import failed: could not read the file (' + e.message + ').', { key: 'import' });
    });
  }

  // ---- start -----------------------------------------------------------------

  var settings = WB.setupSettings($('settings'), function () {
    // Nothing could load without the token: start over with it.
    if (!state.catalogue) { location.reload(); return; }
    loadItems();
  });

  function switchProject(project) {
    // Each project follows its own methodology (issue 12 item 5).
    if (state.catalogue && project !== state.project) {
      return loadCatalogue(project).then(function (cat) {
        if (cat.version !== state.catalogue.version) { state.catalogue = cat; build(cat); }
        return showProject(project);
      });
    }
    return showProject(project);
  }

  function showProject(project) {
    state.project = project;
    client.project = project;
    state.server.clear();
    state.loadedItems = false;
    $('dashboard-link').href = '/dashboard?project=' + encodeURIComponent(project);
    Array.prototype.forEach.call($('messages').querySelectorAll('.message'), function (m) { m.remove(); });
    renderAll();
    showRejected();
    client.subscribe(project);
    return loadItems();
  }

  // Once everything waiting has gone out, read the items once more: the
  // page then agrees with the bridge even if a live event raced an answer.
  var settle = null;
  var hadQueue = client.queue().length > 0;
  client.on('queue', function (q) {
    if (q.length) hadQueue = true;
    else if (hadQueue) {
      hadQueue = false;
      clearTimeout(settle);
      settle = setTimeout(loadItems, 1500);
    }
  });
  client.on('queue', function (q) {
    var ids = new Set(q.map(function (e) { return e.body.wstg_id; }));
    state.views.forEach(function (v, id) {
      if (ids.has(id) || v.root.dataset.sync === 'queued' || v.root.dataset.sync === 'sending') renderItem(id);
    });
    renderProgress();
    renderSyncStatus();
  });
  client.on('status', renderSyncStatus);
  client.on('sent', function (ev) {
    var b = ev.entry.body;
    if ((b.project || state.project) !== state.project) return;
    var prev = state.server.get(b.wstg_id) || { wstg_id: b.wstg_id };
    var notes = b.notes != null ? b.notes : prev.notes;
    // The live feed may already have reported this change (and its push).
    var known = prev.status === b.status && (prev.notes || '') === (notes || '') && prev.sync_state;
    state.server.set(b.wstg_id, Object.assign({}, prev, {
      status: b.status, notes: notes, sync_state: known ? prev.sync_state : 'pending',
      assignee: b.assignee !== undefined ? b.assignee : prev.assignee
    }));
    renderItem(b.wstg_id);
  });
  client.on('rejected', function (ev) {
    showRejected();
    renderItem(ev.entry.body.wstg_id);
  });
  client.on('auth', function () {
    renderSyncStatus();
    settings.open('The bridge refused the change: it needs a valid token. Your changes wait in this browser.');
  });
  client.on('stream', renderLive);
  client.on('connected', function () { loadItems(); });
  client.on('item', function (item) {
    if ((item.project || state.project) !== state.project) return;
    applyServerItem(item, true);
    renderProgress();
    applyFilters();
    renderSyncStatus();
  });

  $('retry').addEventListener('click', function () { client.retryNow(); });
  setInterval(renderRetryIn, 1000);
  $('export').addEventListener('click', doExport);
  $('import-file').addEventListener('change', function (e) {
    var f = e.target.files && e.target.files[0];
    if (f) doImport(f);
    e.target.value = '';
  });
  var debounce = null;
  $('filter-text').addEventListener('input', function () {
    clearTimeout(debounce);
    debounce = setTimeout(applyFilters, 120);
  });
  ['filter-status', 'filter-category', 'filter-sync'].forEach(function (id) {
    $(id).addEventListener('change', applyFilters);
  });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); applyFilters(); });
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      e.preventDefault();
      $('filter-text').focus();
    }
  });

  WB.setupProjects($('project'), switchProject).catch(function (err) {
    if (err.status === 401 || err.status === 403) settings.open('The bridge needs a token.');
    return err.project;
  }).then(function (project) {
    return loadCatalogue(project).then(function (cat) { return [cat, project]; });
  }).then(function (r) {
    state.catalogue = r[0];
    build(r[0]);
    return showProject(r[1]);
  }).catch(function (err) {
    var main = $('checklist');
    main.textContent = '';
    main.appendChild(el('div', { class: 'message error', role: 'alert' },
      el('p', {}, 'Could not load the WSTG catalogue: ' + err.message),
      el('button', { type: 'button', onclick: function () { location.reload(); } }, 'Try again')));
    if (err.status === 401 || err.status === 403) settings.open('The bridge needs a token to show the checklist.');
  });
  renderSyncStatus();
  if (client.queue().length) client.flush();
})();
