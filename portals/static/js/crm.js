// Customer pages (CRM-1): small progressive touches; every form works without this file.
(function () {
  "use strict";
  // The "log an interaction" form shows a field only for the kinds it applies to
  // (<div data-for-kinds="call email">): direction for calls and e-mails, the due date for tasks.
  function sync(form) {
    var checked = form.querySelector("input[name=kind]:checked");
    var kind = checked ? checked.value : "";
    form.querySelectorAll("[data-for-kinds]").forEach(function (el) {
      var kinds = el.getAttribute("data-for-kinds").split(" ");
      el.hidden = kinds.indexOf(kind) === -1;
    });
  }
  function syncAll(root) {
    (root || document).querySelectorAll("form[data-activity-form]").forEach(sync);
  }
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-activity-form]");
    if (form && evt.target.name === "kind") { sync(form); }
  });
  document.addEventListener("DOMContentLoaded", function () { syncAll(); });
  document.addEventListener("htmx:afterSettle", function () { syncAll(); });
})();
