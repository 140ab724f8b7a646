/*
 * The sync dashboard: GET /api/wstg/dashboard every 5 s (while the page is
 * visible): status cards, DefectDojo reachability, the queue, progress by
 * category, sync activity per minute (a hand-drawn SVG), conflicts and
 * failures, and the recent syncs of the audit trail.
 */
(function () {
  'use strict';

  var WB = window.WB;
  var el = WB.el;
  var $ = function (id) { return document.getElementById(id); };
  var SVG = 'http://www.w3.org/2000/svg';
  var REFRESH_MS = 5000;
  var project = null;
  var timer = null;
  var loading = false;

  function svg(tag, attrs) {
    var n = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) n.appendChild(arguments[i]);
    return n;
  }

  function card(title, value, note, tone) {
    return el('div', { class: 'card', dataset: tone ? { tone: tone } : {} },
      el('h3', {}, title), el('div', { class: 'value' }, String(value)), note ? el('div', { class: 'note' }, note) : null);
  }

  function renderCards(d) {
    var s = d.status || {};
    var reach = d.dojo || {};
    var cards = $('cards');
    cards.textContent = '';
    var complete = 0;
    var total = 0;
    Object.keys(d.statistics.by_category || {}).forEach(function (k) {
      complete += d.statistics.by_category[k].complete;
      total += d.statistics.by_category[k].total;
    });
    cards.appendChild(card('Complete', total ? Math.round(100 * complete / total) + ' %' : '—', complete + ' of ' + total + ' tests', null));
    cards.appendChild(card('Synced', s.synced_items != null ? s.synced_items : '—', 'items in step with DefectDojo', 'good'));
    cards.appendChild(card('Pending', s.pending_items != null ? s.pending_items : '—', 'tracker changes on their way', s.pending_items ? 'warn' : null));
    cards.appendChild(card('Conflicts', s.items_in_conflict != null ? s.items_in_conflict : (s.conflicts != null ? s.conflicts : '—'),
      s.conflicts != null ? s.conflicts + ' seen in total' : 'items both sides changed', (s.items_in_conflict || 0) ? 'bad' : null));
    cards.appendChild(card('Failed', s.failed_items != null ? s.failed_items : '—', 'items whose last sync failed', s.failed_items ? 'bad' : null));
    cards.appendChild(card('Dead letters', d.dlq_size != null ? d.dlq_size : '—', 'wstgctl dlq list / replay', d.dlq_size ? 'bad' : 'good'));
    cards.appendChild(card('DefectDojo', reach.reachable === true ? 'reachable' : reach.reachable === false ? 'unreachable' : 'unknown',
      reach.detail || '', reach.reachable === true ? 'good' : reach.reachable === false ? 'bad' : 'warn'));
    cards.appendChild(card('Last sync', s.last_sync ? WB.fmtAgo(s.last_sync) : 'never', s.last_sync ? WB.fmtTime(s.last_sync) : '', null));
  }

  function renderChart(activity) {
    var box = $('activity-chart');
    box.textContent = '';
    var W = 640;
    var H = 180;
    var left = 34;
    var bottom = 22;
    var top = 8;
    var n = activity.length || 60;
    var max = 1;
    var sums = { t2d: 0, d2t: 0, failed: 0 };
    activity.forEach(function (m) {
      max = Math.max(max, m.tracker_to_dd + m.dd_to_tracker + m.failed);
      sums.t2d += m.tracker_to_dd; sums.d2t += m.dd_to_tracker; sums.failed += m.failed;
    });
    var plotW = W - left - 4;
    var plotH = H - top - bottom;
    var bw = plotW / n;
    var label = (sums.t2d + sums.d2t + sums.failed) + ' syncs in the last hour: ' + sums.t2d +
      ' tracker to DefectDojo, ' + sums.d2t + ' DefectDojo to tracker, ' + sums.failed + ' failed. Busiest minute: ' + (max === 1 && !sums.t2d && !sums.d2t && !sums.failed ? 0 : max) + '.';
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label });
    root.appendChild(svg('title', {}, document.createTextNode(label)));
    root.appendChild(svg('line', { class: 'axis', x1: left, y1: top + plotH, x2: W - 4, y2: top + plotH }));
    root.appendChild(svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: top + plotH }));
    var ymax = svg('text', { x: left - 4, y: top + 10, 'text-anchor': 'end' });
    ymax.textContent = String(max);
    root.appendChild(ymax);
    var y0 = svg('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end' });
    y0.textContent = '0';
    root.appendChild(y0);
    activity.forEach(function (m, i) {
      var x = left + i * bw + 1;
      var y = top + plotH;
      [['bar-t2d', m.tracker_to_dd], ['bar-d2t', m.dd_to_tracker], ['bar-failed', m.failed]].forEach(function (p) {
        if (!p[1]) return;
        var h = Math.max(1, plotH * p[1] / max);
        y -= h;
        var r = svg('rect', { class: p[0], x: x.toFixed(1), y: y.toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1) });
        r.appendChild(svg('title', {}, document.createTextNode(new Date(m.minute).toLocaleTimeString() + ': ' + p[1])));
        root.appendChild(r);
      });
      if (i % 10 === 0 || i === n - 1) {
        var anchor = i === n - 1 ? 'end' : i === 0 ? 'start' : 'middle';
        var t = svg('text', { x: (i === n - 1 ? W - 4 : left + i * bw + bw / 2).toFixed(1), y: H - 6, 'text-anchor': anchor });
        var d = new Date(m.minute);
        t.textContent = d.getHours().toString().padStart(2, '0') + ':' + d.getMinutes().toString().padStart(2, '0');
        root.appendChild(t);
      }
    });
    box.appendChild(root);
  }

  function renderDojo(d) {
    var r = d.dojo || {};
    var box = $('dojo');
    box.textContent = '';
    var word = r.reachable === true ? 'Reachable' : r.reachable === false ? 'Unreachable' : 'Unknown';
    box.appendChild(el('p', {}, el('strong', { class: r.reachable === true ? 'ok' : r.reachable === false ? 'bad' : 'muted' }, word), ' — ', r.detail || ''));
    var basis = { poller_heartbeat: "the poller's heartbeat", recent_sync: 'a recent successful sync', retries_waiting: 'retries waiting in the queue', no_evidence: 'no recent contact' };
    box.appendChild(el('p', { class: 'muted' }, 'Judged from ' + (basis[r.basis] || r.basis || '—') +
      '. Last successful sync: ' + WB.fmtTime(r.last_success_at) + '. Poller heartbeat: ' + (r.poller_heartbeat_at ? WB.fmtTime(r.poller_heartbeat_at) : 'none') + '.'));
    if (r.last_error) box.appendChild(el('p', { class: 'bad' }, 'Last error: ' + r.last_error));
    var q = (d.status && d.status.queue) || null;
    var tb = $('queue');
    tb.textContent = '';
    if (!q) {
      tb.appendChild(el('tr', {}, el('td', {}, 'Redis is unreachable: no queue figures.')));
      return;
    }
    [['Events waiting in the stream', q.stream_len], ['Being applied (pending)', q.pending], ['Retries waiting (delayed)', q.delayed],
      ['Dead letters', q.dlq], ['Worker consumers', q.consumers]].forEach(function (row) {
      tb.appendChild(el('tr', {}, el('th', { scope: 'row' }, row[0]), el('td', { class: 'num' }, row[1] == null ? '—' : String(row[1]))));
    });
  }

  function renderCategories(byCat) {
    var tb = $('categories');
    tb.textContent = '';
    Object.keys(byCat).map(function (k) { return [k, byCat[k]]; })
      .sort(function (a, b) { return a[1].position - b[1].position; })
      .forEach(function (p) {
        var id = p[0];
        var c = p[1];
        var stack = el('div', { class: 'stack', role: 'img', 'aria-label': c.done + ' done, ' + c.not_applicable + ' not applicable, ' + c.in_progress + ' in progress, ' + c.blocked + ' blocked, ' + c.not_started + ' not started, ' + c.unset + ' not set, of ' + c.total });
        ['done', 'not_applicable', 'in_progress', 'blocked', 'not_started'].forEach(function (s) {
          if (!c[s]) return;
          var seg = el('span', { class: 's-' + s, title: WB.STATUS_LABELS[s] + ': ' + c[s] });
          seg.style.width = (100 * c[s] / c.total) + '%';
          stack.appendChild(seg);
        });
        tb.appendChild(el('tr', {},
          el('th', { scope: 'row' }, el('span', { class: 'cat-id' }, id), ' ', c.name),
          el('td', {}, stack),
          el('td', { class: 'num' }, c.complete + '/' + c.total),
          el('td', { class: 'num' }, String(c.pending)),
          el('td', { class: 'num' + (c.conflict + c.failed ? ' bad' : '') }, String(c.conflict + c.failed))));
      });
  }

  function renderCounts(id, counts, labels) {
    var tb = $(id);
    tb.textContent = '';
    Object.keys(counts || {}).forEach(function (k) {
      tb.appendChild(el('tr', {}, el('th', { scope: 'row' }, labels[k] || k), el('td', { class: 'num' }, String(counts[k]))));
    });
  }

  function renderAttention(list) {
    var box = $('attention');
    box.textContent = '';
    if (!list || !list.length) {
      box.appendChild(el('p', { class: 'ok' }, 'No conflicts and no failures.'));
      return;
    }
    box.appendChild(el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Item'), el('th', { scope: 'col' }, 'State'), el('th', { scope: 'col' }, 'Why'))),
      el('tbody', {}, list.map(function (a) {
        return el('tr', {},
          el('td', {}, el('a', { href: '/?project=' + encodeURIComponent(project) + '#item-' + a.wstg_id }, a.wstg_id), ' ', el('span', { class: 'muted' }, a.title)),
          el('td', { class: 'bad' }, a.sync_state),
          el('td', {}, a.last_error || '—'));
      }))));
  }

  function renderRecent(rows) {
    var tb = $('recent');
    tb.textContent = '';
    if (!rows || !rows.length) {
      tb.appendChild(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No syncs yet.')));
      return;
    }
    rows.slice(0, 25).forEach(function (r) {
      var change = WBProvenance.changeText(r, WB.STATUS_LABELS);
      tb.appendChild(el('tr', {},
        el('td', { title: WB.fmtTime(r.timestamp) }, WB.fmtAgo(r.timestamp)),
        el('td', {}, r.wstg_id),
        el('td', { class: 'dir' }, r.direction),
        el('td', {}, change, r.conflict ? el('span', { class: 'bad' }, ' (conflict: ' + r.conflict + ')') : null),
        el('td', { class: r.success ? 'ok' : 'bad' }, r.success ? (r.detail || 'ok') : (r.error_message || 'failed'))));
    });
  }

  function render(d) {
    renderCards(d);
    renderChart(d.statistics.activity || []);
    renderDojo(d);
    renderCategories(d.statistics.by_category || {});
    var labels = Object.assign({ unknown: 'Not set' }, WB.STATUS_LABELS);
    renderCounts('by-status', d.statistics.by_status, labels);
    renderCounts('by-assignee', d.statistics.by_assignee, { '-': 'Unassigned' });
    renderCounts('by-direction', d.statistics.by_direction, { 'tracker->dd': 'tracker → DefectDojo', 'dd->tracker': 'DefectDojo → tracker', unknown: 'never synced' });
    renderAttention(d.statistics.attention);
    renderRecent(d.statistics.recent_syncs);
    $('updated').textContent = 'Project “' + d.project + '”, updated ' + new Date(d.timestamp).toLocaleTimeString() + '. Refreshes every 5 s.';
    document.body.dataset.loaded = 'true';
  }

  function load() {
    if (loading || !project) return;
    loading = true;
    WB.getJSON('/api/wstg/dashboard?project=' + encodeURIComponent(project)).then(function (d) {
      var m = $('messages').querySelector('.message');
      if (m) m.remove();
      render(d);
    }, function (err) {
      $('messages').textContent = '';
      $('messages').appendChild(el('div', { class: 'message error', role: 'alert' }, el('p', {}, 'Could not refresh the dashboard: ' + err.message)));
      if (err.status === 401 || err.status === 403) settings.open('The bridge needs a token to show the dashboard.');
    }).finally(function () { loading = false; });
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(function () { if (document.visibilityState === 'visible') load(); }, REFRESH_MS);
  }

  var settings = WB.setupSettings($('settings'), function () {
    if (document.body.dataset.loaded !== 'true') { location.reload(); return; }
    load();
  });
  $('refresh').addEventListener('click', load);
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'visible') load(); });

  function switchProject(p) {
    project = p;
    $('checklist-link').href = '/?project=' + encodeURIComponent(p);
    load();
    schedule();
  }

  WB.setupProjects($('project'), switchProject).then(switchProject, function (err) {
    if (err.status === 401 || err.status === 403) settings.open('The bridge needs a token.');
    switchProject(err.project);
  });
})();
