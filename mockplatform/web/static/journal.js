// Live journal: asks /ui/api/journal for exchanges newer than the newest shown, once a second,
// and puts them on top of the table. Plain DOM, values set as textContent (never parsed as HTML): every value
// in a row came from a consumer.
(function () {
  "use strict";
  var rows = document.getElementById("journal-rows");
  if (!rows) {
    return;
  }
  var status = document.getElementById("live-status");
  var empty = document.getElementById("journal-empty");
  var api = rows.getAttribute("data-api");
  var maxRows = Number(rows.getAttribute("data-max-rows")) || 200;
  var after = Number(rows.getAttribute("data-last-id")) || 0;
  var filters = new URLSearchParams(window.location.search);
  var INTERVAL_MS = 1000;

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) {
      td.className = className;
    }
    return td;
  }

  function row(e) {
    var id = Number(e.id);
    var tr = document.createElement("tr");
    tr.className = "outcome-" + e.outcome + " fresh";
    tr.setAttribute("data-id", String(id));
    var first = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/ui/journal/" + id;
    link.textContent = String(id);
    first.appendChild(link);
    tr.appendChild(first);
    tr.appendChild(cell(e.time_local));
    tr.appendChild(cell(e.contract_name));
    tr.appendChild(cell(e.consumer));
    tr.appendChild(cell(e.logical_address));
    tr.appendChild(cell(e.http_status));
    var outcome = cell("");
    var badge = document.createElement("span");
    badge.className = "badge outcome outcome-" + e.outcome;
    badge.textContent = e.outcome_label;
    outcome.appendChild(badge);
    tr.appendChild(outcome);
    tr.appendChild(cell(e.duration_ms, "num"));
    return tr;
  }

  function add(exchanges) {
    // Newest first from the server: insert the oldest first so the newest ends on top.
    for (var i = exchanges.length - 1; i >= 0; i--) {
      var e = exchanges[i];
      if (rows.querySelector('tr[data-id="' + Number(e.id) + '"]')) {
        continue;
      }
      rows.insertBefore(row(e), rows.firstChild);
    }
    while (rows.children.length > maxRows) {
      rows.removeChild(rows.lastChild);
    }
    if (empty && rows.children.length > 0) {
      empty.hidden = true;
    }
  }

  function poll() {
    filters.set("after", String(after));
    fetch(api + "?" + filters.toString(), { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        add(data.exchanges || []);
        after = Math.max(after, Number(data.last_id) || 0);
        status.textContent = "Nya anrop visas automatiskt.";
        status.parentNode.classList.remove("offline");
      })
      .catch(function () {
        status.textContent = "Ingen kontakt med plattformen; försöker igen.";
        status.parentNode.classList.add("offline");
      })
      .then(function () {
        window.setTimeout(poll, INTERVAL_MS);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
