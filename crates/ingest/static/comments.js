/*
 * An item's discussion (issue 12 item 4): the comments under an item,
 * loaded when opened, and a form to add one. Comments from DefectDojo's
 * notes come back through the bridge and show who wrote them there.
 * Hooked into app.js through WB.itemHooks.
 */
(function () {
  'use strict';

  var WB = window.WB;
  var el = WB.el;

  function path(view) {
    return '/api/wstg/items/' + encodeURIComponent(view.id) + '/comments?project=' +
      encodeURIComponent(WB.pageState.project || '');
  }

  function show(view, comments) {
    var list = view.discussion.list;
    list.textContent = '';
    view.discussion.summary.textContent = 'Discussion (' + comments.length + ')';
    comments.forEach(function (c) {
      list.appendChild(el('li', { class: 'comment', dataset: { origin: c.origin } },
        el('p', { class: 'comment-meta' },
          el('strong', {}, c.author), ' · ', WB.fmtTime(c.created_at),
          c.origin === 'dojo' ? ' · from DefectDojo' : (c.synced ? '' : ' · not yet in DefectDojo')),
        el('p', { class: 'comment-body' }, c.body)));
    });
  }

  function load(view) {
    return WB.getJSON(path(view)).then(function (body) {
      show(view, body.comments || []);
    }, function (err) {
      view.discussion.error.hidden = false;
      view.discussion.error.textContent = 'Comments not loaded: ' + err.message;
    });
  }

  function add(view) {
    var d = view.discussion;
    var body = d.text.value.trim();
    d.error.hidden = true;
    if (!body) return;
    var author = WB.user();
    if (!author) {
      d.error.hidden = false;
      d.error.textContent = 'Set your name in Settings first: it is the comment\u2019s author.';
      return;
    }
    d.button.disabled = true;
    WB.client.request('POST', path(view), { author: author, body: body }).then(function (res) {
      d.button.disabled = false;
      if (!res.ok) {
        d.error.hidden = false;
        d.error.textContent = 'Not added: ' + ((res.body && res.body.error) || ('the bridge answered ' + res.status));
        return;
      }
      d.text.value = '';
      load(view);
    });
  }

  WB.itemHooks = WB.itemHooks || [];
  WB.itemHooks.push({
    build: function (view) {
      var safe = view.id.replace(/[^A-Za-z0-9_-]/g, '_');
      var summary = el('summary', {}, 'Discussion');
      var list = el('ol', { class: 'comments', 'aria-live': 'polite' });
      var text = el('textarea', { id: 'comment-' + safe, rows: 2, maxlength: 4000, placeholder: 'Add a comment (also posted to the DefectDojo finding)' });
      var error = el('p', { class: 'item-error', hidden: true });
      var button = el('button', { type: 'button', class: 'comment-add' }, 'Add comment');
      var box = el('details', { class: 'discussion', id: 'discussion-' + safe },
        summary, list,
        el('div', { class: 'field' },
          el('label', { for: 'comment-' + safe }, 'Comment', el('span', { class: 'visually-hidden' }, ' on ' + view.id)), text),
        button, error);
      view.root.appendChild(box);
      view.discussion = { summary: summary, list: list, text: text, error: error, button: button };
      box.addEventListener('toggle', function () { if (box.open) load(view); });
      button.addEventListener('click', function () { add(view); });
      text.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); add(view); }
      });
    },
    render: function (view, d) {
      // A change seen on the live feed may carry a new note: refresh an open discussion.
      var box = view.discussion && view.discussion.summary.parentNode;
      if (box && box.open && d.server && d.server.updated_at !== view.discussion.seen) {
        view.discussion.seen = d.server.updated_at;
        load(view);
      }
    }
  });
})();
