/*
 * Evidence files on the tracker page (issue 12 item 2): each item gets an
 * "Evidence" section listing its files (thumbnails for images, links for the
 * rest) and a file input to attach one. Files are fetched with the bearer
 * token and shown from blob: URLs, so no token ever goes into a URL.
 * Loaded after app.js; it watches for items as app.js builds them, and
 * reads an item's files only when its section is opened.
 */
(function () {
  'use strict';
  var WB = window.WB;
  var el = WB.el;

  function project() {
    var sel = document.getElementById('project');
    return (sel && sel.value) || WB.project() || '';
  }

  function api(path) {
    var p = project();
    return path + (p ? (path.indexOf('?') >= 0 ? '&' : '?') + 'project=' + encodeURIComponent(p) : '');
  }

  function authHeaders() {
    var t = WB.token();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  function fmtSize(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  var STATE_LABELS = { pending: 'waiting for DefectDojo', uploaded: 'in DefectDojo', removed_in_dojo: 'removed in DefectDojo' };

  /** Fetches a file's bytes with the token; resolves a blob: URL. */
  function blobUrl(ev) {
    return fetch(ev.url, { headers: authHeaders() }).then(function (r) {
      if (!r.ok) throw new Error('The bridge answered ' + r.status + '.');
      return r.blob();
    }).then(function (b) { return URL.createObjectURL(b); });
  }

  function renderFile(ev) {
    var meta = el('span', { class: 'evidence-meta' },
      fmtSize(ev.size) + ' · ' + (ev.origin === 'dojo' ? 'from DefectDojo' : (STATE_LABELS[ev.state] || ev.state)));
    var li = el('li', { class: 'evidence-file', dataset: { id: ev.id, state: ev.state, origin: ev.origin } });
    if (ev.image) {
      var img = el('img', { class: 'evidence-thumb', alt: ev.name });
      blobUrl(ev).then(function (u) { img.src = u; }, function () { img.alt = ev.name + ' (could not be loaded)'; });
      li.appendChild(img);
    }
    var link = el('a', { href: '#', class: 'evidence-link' }, ev.name);
    link.addEventListener('click', function (e) {
      e.preventDefault();
      blobUrl(ev).then(function (u) {
        var a = el('a', { href: u, download: ev.name });
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(u); a.remove(); }, 1000);
      });
    });
    li.appendChild(link);
    li.appendChild(meta);
    return li;
  }

  function load(box) {
    var id = box.dataset.id;
    var list = box.querySelector('.evidence-list');
    return WB.getJSON(api('/api/wstg/items/' + encodeURIComponent(id) + '/evidence')).then(function (body) {
      list.replaceChildren.apply(list, (body.evidence || []).map(renderFile));
      box.querySelector('summary').textContent = 'Evidence (' + (body.evidence || []).length + ')';
    }, function (err) {
      box.querySelector('.evidence-error').textContent = err.message;
    });
  }

  /**
   * Uploads one file to an item (or, with opts.vulnerabilityId, to one of
   * its vulnerabilities); opts.project overrides the page's project.
   * Resolves the stored file's JSON; rejects with the bridge's reason.
   */
  function send(wstgId, file, opts) {
    opts = opts || {};
    var form = new FormData();
    form.append('file', file, file.name);
    if (opts.vulnerabilityId) form.append('vulnerability_id', opts.vulnerabilityId);
    var p = opts.project || project();
    var url = '/api/wstg/items/' + encodeURIComponent(wstgId) + '/evidence' +
      (p ? '?project=' + encodeURIComponent(p) : '');
    return fetch(url, { method: 'POST', headers: authHeaders(), body: form }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error(body.reason ? (file.name + ': ' + body.reason) : ('The bridge answered ' + r.status + '.'));
        return body;
      });
    });
  }

  function upload(box, file) {
    var error = box.querySelector('.evidence-error');
    error.textContent = '';
    return send(box.dataset.id, file).then(function () { return load(box); })
      .catch(function (e) { error.textContent = e.message; });
  }

  function attach(article) {
    if (article.querySelector('.evidence')) return;
    var id = article.dataset.id;
    var safe = id.replace(/[^A-Za-z0-9_-]/g, '_');
    var input = el('input', { type: 'file', id: 'evidence-input-' + safe,
      accept: '.png,.jpg,.jpeg,.pdf,.zip,.txt,.log,.json,.har,.csv,.xml,.yml,.yaml,image/png,image/jpeg' });
    var box = el('details', { class: 'evidence', id: 'evidence-' + safe, dataset: { id: id } },
      el('summary', {}, 'Evidence'),
      el('ul', { class: 'evidence-list' }),
      el('div', { class: 'evidence-add' },
        el('label', { for: 'evidence-input-' + safe }, 'Attach a file', el('span', { class: 'visually-hidden' }, ' to ' + id)),
        input),
      el('p', { class: 'evidence-error', role: 'alert' }));
    box.addEventListener('toggle', function () { if (box.open) load(box); });
    input.addEventListener('change', function () {
      if (input.files && input.files[0]) upload(box, input.files[0]).then(function () { input.value = ''; });
    });
    article.appendChild(box);
  }

  function scan(node) {
    if (node.nodeType !== 1) return;
    if (node.matches('article.item')) attach(node);
    node.querySelectorAll('article.item').forEach(attach);
  }

  // For vulnerabilities.js: a vulnerability's files use the same upload and
  // token-authenticated fetch.
  window.WBEvidence = { upload: send, renderFile: renderFile };

  new MutationObserver(function (changes) {
    changes.forEach(function (c) { c.addedNodes.forEach(scan); });
  }).observe(document.body, { childList: true, subtree: true });
  scan(document.body);
})();
