// Lead conversion (account choice, opportunity fields) and web-form snippets (copy buttons).
// No inline handlers: the Content-Security-Policy forbids them.
(function () {
  "use strict";
  function syncConvert(form) {
    var mode = form.querySelector("input[name=account_mode]:checked");
    form.querySelectorAll("[data-when]").forEach(function (el) {
      el.hidden = !mode || el.getAttribute("data-when") !== mode.value;
    });
    form.querySelectorAll("[data-toggles]").forEach(function (box) {
      var target = document.getElementById(box.getAttribute("data-toggles"));
      if (target) { target.hidden = !box.checked; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-convert]").forEach(syncConvert);
  });
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-convert]");
    if (form) { syncConvert(form); }
  });
  // Searching for another account means adding to an existing one.
  document.addEventListener("input", function (evt) {
    if (evt.target.id !== "account-q") { return; }
    var existing = document.querySelector("input[name=account_mode][value=existing]");
    if (existing && !existing.checked) { existing.checked = true; syncConvert(existing.form); }
  });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.textContent;
    function done() {
      button.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { button.textContent = label; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done);
    } else {
      source.select();
      document.execCommand("copy");
      done();
    }
  });
})();
