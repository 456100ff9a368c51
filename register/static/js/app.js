// Small progressive enhancements. The site works without this file.
(function () {
  "use strict";

  // htmx requests carry the CSRF token in a header, read from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });

  // Inline validation replaces only the text of a field's error line. Keep the
  // field's invalid state in step with it, as on a page the server drew: the
  // input says aria-invalid to screen readers, and the field shows its red border.
  document.addEventListener("htmx:afterSwap", function (event) {
    var line = event.detail.target;
    if (!line || !line.classList || !line.classList.contains("field-error")) {
      return;
    }
    var field = line.closest(".field");
    var input = field && field.querySelector("input, select, textarea");
    var invalid = line.textContent.trim() !== "";
    if (field) {
      field.classList.toggle("field-invalid", invalid);
    }
    if (input) {
      if (invalid) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    }
  });

  // After a form comes back with errors, move focus to the summary so it is read out.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
