// Live updates (progressive enhancement): when the node announces a new event,
// fetch this page again and swap in the parts marked data-live. Without
// JavaScript, or without EventSource, the page simply shows news on reload.
(function () {
  "use strict";
  var parts = document.querySelectorAll("[data-live][id]");
  if (!parts.length || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var waiting = false;
  function refresh() {
    waiting = false;
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (part) {
          var next = fresh.getElementById(part.id);
          if (next) { part.replaceWith(next); }
        });
      })
      .catch(function () { /* the next event tries again */ });
  }
  var source = new EventSource("/events/stream");
  source.addEventListener("stored", function () {
    if (!waiting) {
      waiting = true;
      window.setTimeout(refresh, 300);
    }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
