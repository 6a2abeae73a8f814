// Tessera portal behaviour: small, progressive, no build step.
(function () {
  "use strict";
  // Every htmx request carries the session's CSRF token (set on <body data-csrf>).
  document.addEventListener("htmx:configRequest", function (evt) {
    var token = document.body.dataset.csrf;
    if (token) { evt.detail.headers["X-CSRF-Token"] = token; }
  });
  // Errors from htmx requests become a visible toast instead of silently doing nothing.
  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "error");
    el.setAttribute("role", "alert");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    toast((xhr && xhr.responseText && xhr.responseText.length < 300) ? xhr.responseText : document.body.dataset.errorText);
  });
  document.addEventListener("htmx:sendError", function () { toast(document.body.dataset.offlineText); });
  // A form refused with 422 comes back re-rendered with its errors; when the server names where it
  // goes (HX-Retarget), swap it in instead of treating the answer as a failure.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.status === 422 && xhr.getResponseHeader("HX-Retarget")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  // <form data-confirm="..."> asks before submitting.
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { evt.preventDefault(); evt.stopPropagation(); }
  }, true);
  // <select data-autosubmit> submits its form on change (the language switch); no inline handlers (CSP).
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("select[data-autosubmit]")) { evt.target.form.submit(); }
  });
  // Mobile navigation toggle.
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest && evt.target.closest("[data-toggle-nav]");
    if (t) { document.body.classList.toggle("nav-open"); }
  });
  // Flash messages fade after a while but stay readable.
  setTimeout(function () {
    document.querySelectorAll(".flash[data-autohide]").forEach(function (el) { el.classList.add("fade"); });
  }, 8000);
})();
