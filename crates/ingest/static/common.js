/*
 * Shared by the checklist (app.js) and the dashboard (dashboard.js): the
 * settings kept in localStorage (token, name, project), the bridge client,
 * the project selector, the settings dialog and a small DOM helper.
 * The token is kept in localStorage only, sent as a bearer token, and never
 * shown or logged.
 */
(function (root) {
  'use strict';

  var KEYS = {
    token: 'wstg-bridge:token',
    user: 'wstg-bridge:user',
    project: 'wstg-bridge:project'
  };

  function get(k) { try { return root.localStorage.getItem(k); } catch (e) { return null; } }
  function set(k, v) {
    try {
      if (v == null || v === '') root.localStorage.removeItem(k);
      else root.localStorage.setItem(k, v);
    } catch (e) { /* storage unavailable: the value lives for this page only */ }
  }

  /** el('a', {href: '…', class: 'x'}, 'text', child…): a DOM element. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var a = attrs || {};
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v == null || v === false) return;
      if (k === 'text') node.textContent = v;
      else if (k === 'dataset') Object.keys(v).forEach(function (d) { node.dataset[d] = v[d]; });
      else if (k.slice(0, 2) === 'on' && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, '');
      else node.setAttribute(k, String(v));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) {
        node.appendChild(typeof x === 'string' || typeof x === 'number' ? document.createTextNode(String(x)) : x);
      });
    }
    return node;
  }

  var STATUS_LABELS = {
    not_started: 'Not Started',
    in_progress: 'In Progress',
    blocked: 'Blocked',
    done: 'Done',
    not_applicable: 'Not Applicable'
  };
  var SYNC_LABELS = {
    synced: 'Synced',
    pending: 'Pending',
    conflict: 'Conflict',
    failed: 'Failed',
    queued: 'Waiting in browser',
    sending: 'Sending…',
    none: 'Not synced yet'
  };

  function fmtTime(t) {
    if (!t) return '—';
    var d = new Date(t);
    if (isNaN(d)) return String(t);
    return d.toLocaleString();
  }
  function fmtAgo(t) {
    if (!t) return 'never';
    var s = Math.round((Date.now() - new Date(t).getTime()) / 1000);
    if (s < 5) return 'just now';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return new Date(t).toLocaleDateString();
  }

  // The server's rule (crates/domain/src/project.rs): any text DefectDojo
  // takes as a product name, 1 to 64 characters, no control or invisible
  // characters. The server also refuses names mixing scripts.
  var UNPRINTABLE_RE = /[\p{Cc}\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]/u;
  function validProject(name) {
    var n = (name || '').trim();
    if (!n) return 'A project name is required.';
    if (Array.from(n).length > 64) return 'A project name has at most 64 characters.';
    if (UNPRINTABLE_RE.test(n)) return 'A project name may not contain control or invisible characters.';
    return null;
  }

  var client = new root.WSTGSync.Client({
    endpoint: root.location.origin,
    namespace: 'wstg-bridge',
    token: function () { return get(KEYS.token); },
    user: null
  });

  var WB = {
    KEYS: KEYS,
    STATUS_LABELS: STATUS_LABELS,
    SYNC_LABELS: SYNC_LABELS,
    client: client,
    el: el,
    fmtTime: fmtTime,
    fmtAgo: fmtAgo,
    validProject: validProject,
    token: function () { return get(KEYS.token); },
    user: function () { return get(KEYS.user) || ''; },
    project: function () {
      var fromUrl = new URLSearchParams(root.location.search).get('project');
      return fromUrl || get(KEYS.project) || null;
    },
    setProject: function (p) {
      set(KEYS.project, p);
      var url = new URL(root.location.href);
      url.searchParams.set('project', p);
      root.history.replaceState(null, '', url);
    },

    /** A GET of the bridge's API that resolves the body or throws an Error with the reason. */
    getJSON: function (path) {
      return client.request('GET', path).then(function (res) {
        if (res.ok) return res.body;
        var err = new Error(res.kind === 'network'
          ? 'The bridge could not be reached.'
          : (res.body && res.body.error) || ('The bridge answered ' + res.status + '.'));
        err.status = res.status;
        throw err;
      });
    },

    /**
     * Fills the project selector from GET /api/wstg/projects and calls
     * onChange(project) when the user picks another one.
     */
    setupProjects: function (select, onChange) {
      var dialog = document.getElementById('project-dialog');
      var input = document.getElementById('new-project');
      var error = document.getElementById('new-project-error');
      var current = null;
      function fill(list, selected) {
        select.textContent = '';
        var names = list.slice();
        if (selected && names.indexOf(selected) < 0) names.push(selected);
        names.sort(function (a, b) { return a.localeCompare(b); });
        names.forEach(function (n) { select.appendChild(el('option', { value: n, text: n })); });
        select.appendChild(el('option', { value: '__new__', text: 'New project…' }));
        select.value = selected;
        current = selected;
      }
      select.addEventListener('change', function () {
        if (select.value === '__new__') {
          select.value = current;
          input.value = '';
          error.textContent = '';
          dialog.showModal();
          input.focus();
          return;
        }
        current = select.value;
        WB.setProject(current);
        onChange(current);
      });
      dialog.querySelector('form').addEventListener('submit', function (e) {
        e.preventDefault();
        var submitter = e.submitter && e.submitter.value;
        if (submitter === 'cancel') { dialog.close(); return; }
        var problem = validProject(input.value);
        if (problem) { error.textContent = problem; input.focus(); return; }
        var name = input.value.trim();
        var options = Array.prototype.map.call(select.options, function (o) { return o.value; })
          .filter(function (v) { return v !== '__new__'; });
        fill(options, name);
        dialog.close();
        WB.setProject(name);
        onChange(name);
      });
      return WB.getJSON('/api/wstg/projects').then(function (body) {
        var chosen = WB.project() || body.default_project;
        fill(body.projects || [], chosen);
        return chosen;
      }, function (err) {
        var chosen = WB.project() || 'default';
        fill([], chosen);
        throw Object.assign(err, { project: chosen });
      });
    },

    /** The settings dialog: token and name. onSaved() after a save. */
    setupSettings: function (button, onSaved) {
      var dialog = document.getElementById('settings-dialog');
      var token = document.getElementById('token');
      var user = document.getElementById('user');
      var tokenState = document.getElementById('token-state');
      function open(message) {
        token.value = '';
        user.value = WB.user();
        tokenState.textContent = message || (WB.token()
          ? 'A token is saved in this browser. Leave the field empty to keep it.'
          : 'No token saved. The bridge needs one: ask its operator (wstgctl token create), or copy the one `make demo` printed.');
        dialog.showModal();
        (message ? token : user).focus();
      }
      button.addEventListener('click', function () { open(); });
      dialog.querySelector('form').addEventListener('submit', function (e) {
        e.preventDefault();
        var submitter = e.submitter && e.submitter.value;
        if (submitter === 'cancel') { dialog.close(); return; }
        if (submitter === 'forget') set(KEYS.token, null);
        else if (token.value.trim()) set(KEYS.token, token.value.trim());
        token.value = '';
        var name = user.value.trim();
        if (name.length > 128) { tokenState.textContent = 'Your name may have at most 128 characters.'; return; }
        set(KEYS.user, name);
        dialog.close();
        client.reconnect();
        if (onSaved) onSaved();
      });
      return { open: open };
    }
  };

  root.WB = WB;
})(window);
