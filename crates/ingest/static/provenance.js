/*
 * Provenance on the page (issue 12 item 6).
 *
 * - Each item the tracker or DefectDojo has touched says where its last
 *   change came from, who made it and when ("Changed in DefectDojo, 2 min
 *   ago"), from the item answer's `last_change`.
 * - "Not synced yet" shows only on items someone touched: an untouched item
 *   of a 400-requirement ASVS checklist has nothing to sync.
 * - The dashboard's recent syncs say "notes edited" for a change that kept
 *   the status, and who made it.
 *
 * app.js calls WBProvenance.render(view, shown) at the end of each item's
 * render. It adds no listener per item, creates the line only for touched
 * items, and writes the DOM only when the text changes, so a full render of
 * 400 items stays cheap.
 */
(function () {
  'use strict';

  function sourceName(source) {
    return source === 'dojo' ? 'DefectDojo' : 'the tracker';
  }

  function lineText(c) {
    return 'Last change in ' + sourceName(c.source) +
      (c.by ? ' by ' + c.by : '') + ', ' + WB.fmtAgo(c.at);
  }

  function render(v, d) {
    var c = d.server && d.server.last_change;
    var line = v.provenance;
    if (c) {
      if (!line) {
        line = document.createElement('p');
        line.className = 'provenance';
        v.root.appendChild(line);
        v.provenance = line;
      }
      var text = lineText(c);
      if (line.textContent !== text) line.textContent = text;
      if (line.dataset.source !== c.source) line.dataset.source = c.source;
      line.title = WB.fmtTime(c.at);
      line.hidden = false;
    } else if (line) {
      line.hidden = true;
    }
    var touched = !!(c || d.status || d.notes || d.waiting || (d.server && d.server.sync_state));
    if (v.badge.hidden === touched) v.badge.hidden = !touched;
  }

  /* The dashboard's "what changed" of an audit row. */
  function changeText(r, labels) {
    var name = function (s) { return s ? labels[s] || s : '—'; };
    var text = r.old_status && r.old_status === r.new_status && r.success && r.detail !== 'finding created'
      ? 'notes edited (' + name(r.new_status) + ')'
      : name(r.old_status) + ' → ' + name(r.new_status);
    return r.actor ? text + ' by ' + r.actor : text;
  }

  /*
   * The footer's credit follows the project's catalogue (issue 12 item 5):
   * an ASVS or MASTG checklist credits that guide, a WSTG one keeps the
   * page's own WSTG credit with its links.
   */
  var wstgCredit = null;
  function credit(catalogue) {
    var p = document.querySelector('footer.credit p');
    var version = document.getElementById('catalogue-version');
    if (!p || !version) return;
    if (!wstgCredit) wstgCredit = p.cloneNode(true);
    var wstg = !catalogue.methodology || catalogue.methodology === 'wstg' || !catalogue.attribution;
    if (!wstg) {
      // The version line (#catalogue-version) lives in this paragraph: keep it.
      p.textContent = 'Catalogue: ' + catalogue.attribution + '. ';
      p.appendChild(version);
    } else if (p.firstChild && p.firstChild.textContent !== wstgCredit.firstChild.textContent) {
      var fresh = wstgCredit.cloneNode(true);
      fresh.querySelector('#catalogue-version').replaceWith(version);
      p.replaceWith(fresh);
    }
  }

  window.WBProvenance = { render: render, changeText: changeText, lineText: lineText, credit: credit };
})();
