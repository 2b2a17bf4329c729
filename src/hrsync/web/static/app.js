// Reward Manager portal: a few lines of our own. Every page works without this file;
// it adds the authorize modal, busy buttons, the live preview of a setting and menu niceties.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function busy(button) {
    if (!button) return;
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    var label = button.getAttribute("data-busy-label");
    if (label) {
      var text = button.querySelector(".label");
      if (text) text.textContent = label;
    }
  }

  function idle(button) {
    if (!button) return;
    button.removeAttribute("aria-busy");
    button.disabled = false;
    var label = button.getAttribute("data-idle-label");
    var text = button.querySelector(".label");
    if (label && text) text.textContent = label;
  }

  // Forms that take a while (preview, publish) show a spinner and cannot be sent twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy-on-submit")) return;
    var button = event.submitter || form.querySelector('[type="submit"]');
    // Let the browser read the button's name/value before it is disabled.
    setTimeout(function () { busy(button); }, 0);
  });

  // A setting with a live preview (an account's address) shows what it stands for as the person
  // types. The portal normalises what was typed (the rule lives in one place, the kind's preview),
  // so a pasted full address previews as the real one and anything refused says why, before the
  // next setting (the secret) is asked for.
  var previewChecks = new Map();
  var PREVIEW_RETRIES = 3;
  function bindUrlPreview(input) {
    var target = document.getElementById(input.getAttribute("data-url-preview"));
    var message = document.getElementById(input.getAttribute("data-preview-error") || "");
    var url = input.getAttribute("data-preview-check");
    if (!target || !url) return;
    var latest = 0;
    var timer = null;
    function apply(result) {
      target.textContent = result.url || "";
      target.hidden = !result.url;
      if (message) {
        message.textContent = result.reason || "";
        message.hidden = !result.reason;
      }
      if (result.reason) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
    function check() {
      var ticket = ++latest;
      clearTimeout(timer);
      return fetch(url + "?" + encodeURIComponent(input.name) + "=" + encodeURIComponent(input.value), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) throw new Error("check answered " + response.status);
        return response.json();
      }).then(function (result) {
        if (ticket === latest) apply(result);
        return result;
      });
    }
    // A check that fails on the way (a dropped connection, a busy portal) is asked again a few times.
    // If it never answers, what an earlier value showed is cleared rather than left beside what was
    // typed since: Next asks again, and the final check with the source says what is wrong.
    function checkTyped(attempt) {
      var asked = check();
      var ticket = latest;
      asked.catch(function () {
        if (ticket !== latest) return;
        if (attempt < PREVIEW_RETRIES) {
          timer = setTimeout(function () { checkTyped(attempt + 1); }, 400 * (attempt + 1));
        } else {
          apply({});
        }
      });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { checkTyped(0); }, 150);
    });
    previewChecks.set(input, check);
  }

  // The authorize modal: one step per setting (each checked at Next) → live check of them all with
  // the source → confirmation → Finish setup. The steps come from the kind's settings.
  function bindAuthorize(dialog) {
    var form = dialog.querySelector("form");
    var steps = dialog.querySelectorAll(".modal-step");
    var error = dialog.querySelector("[data-auth-error]");
    var first = steps.length ? steps[0].getAttribute("data-step") : "done";
    function show(name) {
      steps.forEach(function (step) { step.hidden = step.getAttribute("data-step") !== name; });
      var focus = dialog.querySelector('.modal-step[data-step="' + name + '"] [data-autofocus]');
      if (focus) focus.focus();
    }
    function fail(message, link) {
      error.textContent = message;
      if (link) {
        var a = document.createElement("a");
        a.href = link;
        a.textContent = "Open the existing integration";
        error.appendChild(document.createTextNode(" "));
        error.appendChild(a);
      }
      error.hidden = false;
    }
    dialog.querySelectorAll("[data-go]").forEach(function (button) {
      button.addEventListener("click", function () {
        var next = button.getAttribute("data-go");
        var checked = button.getAttribute("data-check");
        var input = checked ? form.querySelector('[name="' + checked + '"]') : null;
        if (input) {
          if (input.required && !input.value.trim()) {
            input.focus();
            input.setCustomValidity(input.getAttribute("data-missing") || "");
            input.reportValidity();
            return;
          }
          input.setCustomValidity("");
          var check = previewChecks.get(input);
          if (check) {
            // Refuse a wrong value at once; if the portal cannot be asked, the final check says it.
            check().then(function (result) {
              if (result.ok) show(next); else input.focus();
            }).catch(function () { show(next); });
            return;
          }
        }
        show(next);
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var button = form.querySelector('.modal-foot [type="submit"]');
      busy(button);
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      }).then(function (result) {
        idle(button);
        if (result.body.ok) {
          form.querySelectorAll('input[type="password"]').forEach(function (input) { input.value = ""; });
          dialog.querySelector("[data-confirm-url]").textContent = result.body.url;
          dialog.querySelector("[data-confirm-last4]").textContent = result.body.last4 ? "…" + result.body.last4 : "stored";
          show("done");
        } else {
          fail(result.body.reason || dialog.getAttribute("data-refused"), result.body.link);
          var refused = dialog.querySelector('.modal-step[data-invalid-code="' + result.body.code + '"]');
          if (refused) show(refused.getAttribute("data-step"));
        }
      }).catch(function () {
        idle(button);
        fail("The portal could not be reached. Check your connection and try again.");
      });
    });
    // "Finish setup" submits the step's own Save form (the key is stored): the wizard moves on.
    dialog.querySelectorAll("[data-finish]").forEach(function (button) {
      button.addEventListener("click", function () { setTimeout(function () { busy(button); }, 0); });
    });
    document.querySelectorAll('[data-open-dialog="' + dialog.id + '"]').forEach(function (opener) {
      opener.addEventListener("click", function (event) {
        event.preventDefault();
        error.hidden = true;
        dialog.showModal();
        show(first);  // after opening, so its first input takes the focus
      });
    });
    dialog.querySelectorAll("[data-close]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); });
    });
  }

  // The tools menu closes on Escape and when clicking elsewhere.
  function bindMenus() {
    var menus = document.querySelectorAll("details.tools");
    document.addEventListener("click", function (event) {
      menus.forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      menus.forEach(function (menu) {
        if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
      });
    });
  }

  // Confirmation before destructive buttons (the server asks again when this script is off).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Copy buttons (the SCIM token page): copy the text of the element the button names.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var label = button.textContent;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }, function () { /* the text stays selectable by hand */ });
  });

  // Initial setup: show the time and day fields only for the frequencies that use them.
  function bindFrequency(group) {
    var form = group.closest("form");
    function update() {
      var checked = form.querySelector('input[name="frequency"]:checked');
      var value = checked ? checked.value : "";
      form.querySelectorAll("[data-show-for]").forEach(function (el) {
        var show = el.getAttribute("data-show-for").split(" ").indexOf(value) !== -1;
        el.classList.toggle("is-hidden", !show);
      });
    }
    group.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-frequency]").forEach(bindFrequency);
    document.querySelectorAll("[data-url-preview]").forEach(bindUrlPreview);
    document.querySelectorAll("dialog[data-authorize]").forEach(function (dialog) {
      if (typeof dialog.showModal === "function") bindAuthorize(dialog);
    });
    bindMenus();
  });
})();
