/*
 * Vulnerabilities under an item (issue 12): under each item, the count and
 * worst severity of what was found; expanded, the list (title, severity,
 * DefectDojo status, link to the finding) and a form to record one. Each
 * becomes its own DefectDojo finding (POST /api/wstg/items/{id}/vulnerabilities);
 * the list reloads while any is pending, and when the item changes on the
 * live feed. The form takes one optional file (a screenshot, say): once the
 * vulnerability is recorded it is uploaded to it with evidence.js's helper,
 * and each row shows its files (thumbnails for images).
 */
(function () {
  'use strict';

  var WB = window.WB;
  var el = WB.el;
  var SEVERITIES = ['Critical', 'High', 'Medium', 'Low', 'Info'];
  var STATUS_LABELS = {
    pending: 'Pending', active: 'Active', mitigated: 'Mitigated', risk_accepted: 'Risk accepted',
    false_positive: 'False positive', out_of_scope: 'Out of scope', duplicate: 'Duplicate',
    inactive: 'Inactive', deleted: 'Deleted in DefectDojo'
  };
  var views = new Map(); // wstg_id -> handles

  function path(id, project) {
    return '/api/wstg/items/' + encodeURIComponent(id) + '/vulnerabilities?project=' + encodeURIComponent(project);
  }

  function evidencePath(id, project) {
    return '/api/wstg/items/' + encodeURIComponent(id) + '/evidence?project=' + encodeURIComponent(project);
  }

  function summaryText(sum) {
    if (!sum || !sum.count) return 'Vulnerabilities: none';
    return 'Vulnerabilities: ' + sum.count + ' (' + sum.open + ' open' +
      (sum.worst_severity ? ', worst ' + sum.worst_severity : '') + ')';
  }

  function field(label, input) {
    return el('div', { class: 'field' }, el('label', { for: input.id }, label), input);
  }

  function build(v, project) {
    var safe = v.id.replace(/[^A-Za-z0-9_-]/g, '_');
    var p = 'vuln-' + safe + '-';
    var summary = el('summary', { class: 'vuln-summary' }, summaryText(null));
    var list = el('ul', { class: 'vuln-list', 'aria-label': 'Vulnerabilities of ' + v.id });
    var sev = el('select', { id: p + 'severity', name: 'severity' },
      SEVERITIES.map(function (s) { return el('option', { value: s, text: s }); }));
    sev.value = 'High';
    var title = el('input', { id: p + 'title', name: 'title', required: true, maxlength: 300 });
    var desc = el('textarea', { id: p + 'description', name: 'description', rows: 2, required: true });
    var steps = el('textarea', { id: p + 'steps', name: 'steps', rows: 2 });
    var impact = el('textarea', { id: p + 'impact', name: 'impact', rows: 1 });
    var mitigation = el('textarea', { id: p + 'mitigation', name: 'mitigation', rows: 1 });
    var cwe = el('input', { id: p + 'cwe', name: 'cwe', placeholder: 'CWE-89', size: 8 });
    var endpoints = el('textarea', { id: p + 'endpoints', name: 'endpoints', rows: 1, placeholder: 'One URL a line' });
    var file = el('input', { type: 'file', id: p + 'file', name: 'file',
      accept: '.png,.jpg,.jpeg,.pdf,.zip,.txt,.log,.json,.har,.csv,.xml,.yml,.yaml,image/png,image/jpeg' });
    var error = el('p', { class: 'item-error', role: 'alert', hidden: true });
    var submit = el('button', { type: 'submit' }, 'Record vulnerability');
    var form = el('form', { class: 'vuln-form', 'aria-label': 'Record a vulnerability under ' + v.id },
      field('Title', title), field('Severity', sev), field('CWE', cwe), field('Description', desc),
      field('Steps to reproduce', steps), field('Impact', impact), field('Mitigation', mitigation),
      field('Endpoints', endpoints), field('Screenshot or evidence', file), error, submit);
    var details = el('details', { class: 'vulns', dataset: { id: v.id } }, summary, list, form);
    var h = { details: details, summary: summary, list: list, form: form, error: error, project: project, timer: null,
      files: new Map() }; // evidence id + state -> its rendered node (a thumbnail is fetched once)
    details.addEventListener('toggle', function () { if (details.open) load(v.id, h); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      var body = {
        title: title.value, severity: sev.value, description: desc.value, steps: steps.value,
        impact: impact.value, mitigation: mitigation.value, cwe: cwe.value.trim() || null,
        endpoints: endpoints.value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean)
      };
      // One key per recording: a retry of this very submission is one vulnerability.
      var key = 'vuln-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
      var chosen = file.files && file.files[0];
      WB.client.request('POST', path(v.id, h.project), body, { 'Idempotency-Key': key }).then(function (res) {
        if (!res.ok) {
          submit.disabled = false;
          error.hidden = false;
          error.textContent = res.body && res.body.error ? res.body.error : 'The bridge answered ' + res.status + '.';
          return;
        }
        form.reset();
        sev.value = 'High';
        // The file goes to the vulnerability just recorded (by its id); it
        // waits in the bridge until the vulnerability's finding exists.
        var attached = chosen && res.body && res.body.id
          ? window.WBEvidence.upload(v.id, chosen, { project: h.project, vulnerabilityId: res.body.id })
            .then(null, function (e) {
              error.hidden = false;
              error.textContent = 'The vulnerability was recorded, but not its file: ' + e.message;
            })
          : Promise.resolve();
        return attached.then(function () {
          submit.disabled = false;
          load(v.id, h);
        });
      });
    });
    v.root.appendChild(details);
    return h;
  }

  /** A vulnerability's files, from the item's evidence list (kept nodes reused). */
  function filesOf(h, x, evidence) {
    var mine = evidence.filter(function (ev) {
      return ev.target && ev.target.kind === 'vulnerability' && ev.target.id === x.id;
    });
    if (!mine.length || !window.WBEvidence) return null;
    return el('ul', { class: 'evidence-list vuln-files', 'aria-label': 'Files of ' + x.title },
      mine.map(function (ev) {
        var k = ev.id + ':' + ev.state;
        if (!h.files.has(k)) h.files.set(k, window.WBEvidence.renderFile(ev));
        return h.files.get(k);
      }));
  }

  function renderList(id, h, vulns, evidence) {
    h.list.textContent = '';
    vulns.forEach(function (x) {
      var link = x.finding_url
        ? el('a', { class: 'vuln-finding', href: x.finding_url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': 'DefectDojo finding ' + x.finding_id + ': ' + x.title }, 'Finding #' + x.finding_id)
        : el('span', { class: 'vuln-pending' }, 'not in DefectDojo yet');
      h.list.appendChild(el('li', { class: 'vuln', dataset: { status: x.status, severity: x.severity, id: x.id } },
        el('span', { class: 'vuln-severity sev-' + x.severity.toLowerCase() }, x.severity), ' ',
        el('span', { class: 'vuln-title' }, x.title), ' ',
        el('span', { class: 'vuln-status' }, STATUS_LABELS[x.status] || x.status), ' ',
        x.origin === 'dojo' ? el('span', { class: 'vuln-origin' }, 'from DefectDojo ') : null,
        link,
        x.last_error ? el('p', { class: 'item-error' }, x.last_error) : null,
        filesOf(h, x, evidence)));
    });
    var open = vulns.filter(function (x) { return x.open && x.status !== 'deleted'; });
    var live = vulns.filter(function (x) { return x.status !== 'deleted'; });
    var worst = SEVERITIES.find(function (s) { return open.some(function (x) { return x.severity === s; }); }) ||
      SEVERITIES.find(function (s) { return live.some(function (x) { return x.severity === s; }); });
    h.summary.textContent = summaryText({ count: live.length, open: open.length, worst_severity: worst });
    clearTimeout(h.timer);
    // Pending ones become findings (and their files reach them) within a
    // second or two: look again.
    if (vulns.some(function (x) { return x.sync_state === 'pending' && x.status !== 'deleted'; }) ||
        evidence.some(function (ev) { return ev.target && ev.target.kind === 'vulnerability' && ev.state === 'pending' && !ev.last_error; })) {
      h.timer = setTimeout(function () { load(id, h); }, 1000);
    }
  }

  function load(id, h) {
    // The files are extras: a failure to list them still shows the list.
    var files = WB.getJSON(evidencePath(id, h.project)).then(function (b) { return b.evidence || []; },
      function () { return []; });
    return Promise.all([WB.getJSON(path(id, h.project)), files]).then(function (got) {
      renderList(id, h, got[0].vulnerabilities || [], got[1]);
    }, function (err) {
      h.error.hidden = false;
      h.error.textContent = 'Could not load the vulnerabilities: ' + err.message;
    });
  }

  /** Called by app.js after it renders an item: `server` is the item as the bridge sent it. */
  window.WBVulns = {
    render: function (v, server, project) {
      var h = views.get(v.id);
      if (!h || h.project !== project || !v.root.contains(h.details)) {
        h = build(v, project);
        views.set(v.id, h);
      }
      if (h.details.open) {
        load(v.id, h);
      } else if (server && server.vulnerabilities) {
        h.summary.textContent = summaryText(server.vulnerabilities);
      } else if (server && server.wstg_id) {
        // A live-feed notice carries no summary (a vulnerability of this
        // item changed, maybe): count them again.
        load(v.id, h);
      }
    }
  };
})();
