// The support console's only script: keeps the live parts of a page fresh, fills in copy
// buttons and the browser's time zone on the sign-in form. No framework, no build step.
(function () {
  "use strict";

  // <tbody data-poll="/support/..." data-every="2000">: its content is re-read from the
  // server while the page is open. The header marks the request as not the agent's own
  // activity, so an open page still signs out after the idle time (401: reload to sign in).
  function poll(element) {
    var url = element.getAttribute("data-poll");
    var every = parseInt(element.getAttribute("data-every") || "3000", 10);
    function tick() {
      fetch(url, { headers: { "X-Console-Poll": "1" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            window.location.reload();
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (typeof html === "string") {
            element.innerHTML = html;
          }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  // <button data-copy="id-of-an-input">: copies that input's value.
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.textContent;
    var done = function () {
      button.textContent = button.getAttribute("data-copied") || label;
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () {});
    } else {
      source.select();
      document.execCommand("copy");
      done();
    }
  }

  document.querySelectorAll("[data-poll]").forEach(poll);
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLElement && target.hasAttribute("data-copy")) {
      copy(target);
    }
  });
  document.querySelectorAll("[data-browser-zone]").forEach(function (input) {
    try {
      input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) { /* keep UTC */ }
  });
})();
