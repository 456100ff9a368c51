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

  // Fields with a length limit say how much room is left as people type. The
  // limit is also in the field's hint and enforced by maxlength and the server.
  function addCounter(field) {
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    if (!limit || document.getElementById(field.id + "-count")) {
      return;
    }
    var counter = document.createElement("p");
    counter.className = "hint counter";
    counter.id = field.id + "-count";
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby") || "";
    field.setAttribute("aria-describedby", (described + " " + counter.id).trim());
    function update() {
      var left = limit - field.value.length;
      counter.textContent = left >= 0
        ? left + " of " + limit + " characters left"
        : (-left) + " characters too many";
      counter.classList.toggle("counter-over", left < 0);
    }
    field.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-limit]").forEach(addCounter);
  });

  // After a form comes back with errors, move focus to the summary so it is read out.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();

// Search: the filters disclosure keeps the state the person left it in when the results
// are swapped in; paging moves focus to the results heading and brings it into view
// (otherwise focus drops to <body>, and the view stays at the bottom of the old page).
(function () {
  "use strict";
  var filtersOpen = null;

  document.addEventListener("toggle", function (event) {
    if (event.target.id === "filters") {
      filtersOpen = event.target.open;
    }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "results-area") {
      return;
    }
    var filters = document.getElementById("filters");
    if (filters && filtersOpen !== null) {
      filters.open = filtersOpen;
    }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && trigger.closest && trigger.closest(".pager")) {
      var heading = document.getElementById("results-title");
      if (heading) {
        heading.focus({preventScroll: true});
        heading.scrollIntoView({block: "start"});
      }
    }
  });
})();

// Disclosures that are always open on a wide screen (the menu, the search filters, the
// request preview): in a browser that cannot show a closed disclosure's content through
// CSS (::details-content), open them here, so a desk user never has to.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48.01rem)");
  var supported = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");

  function openWide() {
    if (supported || !wide.matches) {
      return;
    }
    document.querySelectorAll("details.nav-menu, details.filters-toggle, details.preview-toggle")
      .forEach(function (details) { details.open = true; });
  }

  document.addEventListener("DOMContentLoaded", openWide);
  document.addEventListener("htmx:afterSwap", openWide);
})();
