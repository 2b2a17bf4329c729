// The setup wizard's Mapping step. The page works without this file (every button posts the form);
// with it, nothing typed is lost and what the sample says follows each choice at once:
// * the line under a member field ("0 of 200 have a value") from the sample the page was sent
//   (the server counts it with the same rule it uses for the key coverage);
// * a scoping rule's values suggested from that sample (or asked for: job details);
// * a transform row shows only its own transform's settings; its member-field list follows the
//   fields mapped on the page; "Add another rule" adds one row; "Preview transforms" answers in place.
(function () {
  "use strict";

  var VALUES_HINT = "Values, separated by commas";

  function text(el, value) { if (el) el.textContent = value; }

  function bind(form) {
    var dataEl = document.getElementById("mapping-sample");
    var sample = dataEl ? JSON.parse(dataEl.textContent) : null;
    var keyField = form.getAttribute("data-key-field");
    var asked = {};  // source key → suggestions fetched from the portal

    function profileOf(sourceKey) {
      return sample && sample.fields ? sample.fields[sourceKey] : undefined;
    }

    // -- coverage lines --------------------------------------------------------------------------
    function coverage(select) {
      var target = select.name.slice(4);
      var line = form.querySelector('[data-coverage="' + target + '"]');
      if (!line || !sample) return;
      var found = select.value ? profileOf(select.value) : undefined;
      line.classList.remove("coverage-low");
      if (!found) { line.hidden = true; line.textContent = ""; return; }
      line.hidden = false;
      if (!found.measured) { text(line, "Checked when an import reads job details."); return; }
      var words = found.filled + " of " + sample.sampled + " have a value";
      var low = found.filled < sample.sampled * sample.keyMin;
      if (target === keyField) {
        // the page's warning about the key it was drawn with no longer holds once another is chosen
        var warning = document.querySelector("[data-key-warning]");
        if (warning && !low) warning.hidden = true;
      }
      if (target === keyField && low) {
        line.classList.add("coverage-low");
        words += found.filled === 0
          ? " (nobody has one: a person without an Employee ID is skipped)"
          : " (fewer than " + Math.round(sample.keyMin * 100) + "\u00a0%: a person without an Employee ID is skipped)";
      }
      text(line, words);
    }

    // -- the member fields a transform can shape (mapped now, with their labels) ---------------------
    function mappedTargets() {
      var out = [];
      form.querySelectorAll('select[name^="map."]').forEach(function (select) {
        if (!select.value) return;
        var label = form.querySelector('label[for="' + select.id + '"] strong');
        out.push([select.name.slice(4), label ? label.textContent : select.name.slice(4)]);
      });
      form.querySelectorAll("input[data-extra-target]").forEach(function (box) {
        if (box.checked) out.push([box.getAttribute("data-extra-target"), box.getAttribute("data-extra-label")]);
      });
      return out;
    }

    function refreshTargets() {
      var targets = mappedTargets();
      form.querySelectorAll('select[name^="t_"][name$="_target"]').forEach(function (select) {
        var chosen = select.value;
        var first = select.options[0];
        select.innerHTML = "";
        select.appendChild(first);
        var seen = false;
        targets.forEach(function (t) {
          var option = new Option(t[1], t[0], false, t[0] === chosen);
          if (t[0] === chosen) seen = true;
          select.appendChild(option);
        });
        if (chosen && !seen) select.value = "";
      });
    }

    // -- a transform row shows its own settings only ------------------------------------------------
    function settings(typeSelect) {
      var row = typeSelect.closest("tr");
      var kind = typeSelect.value;
      row.querySelectorAll("[data-for]").forEach(function (el) {
        el.hidden = el.getAttribute("data-for").split(" ").indexOf(kind) === -1;
      });
    }

    // -- scoping rules: values that really occur --------------------------------------------------
    function showSuggestions(row, values) {
      var input = row.querySelector('input[name$="_values"]');
      var list = row.querySelector("datalist");
      var hint = row.querySelector("[data-rule-hint]");
      list.innerHTML = "";
      values.forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.label = pair[1] + " of " + (sample ? sample.sampled : 200);
        list.appendChild(option);
      });
      input.placeholder = values.length ? "e.g. " + values[0][0] : VALUES_HINT;
      if (!values.length) { text(hint, ""); return; }
      var shown = values.slice(0, 8).map(function (pair) { return pair[0] + " (" + pair[1] + ")"; });
      text(hint, "Among the first " + (sample ? sample.sampled : 200) + ": " + shown.join(", ") + (values.length > 8 ? ", \u2026" : ""));
    }

    function suggest(fieldSelect) {
      var row = fieldSelect.closest("tr");
      var key = fieldSelect.value;
      if (!key) { showSuggestions(row, []); return; }
      var found = profileOf(key);
      if (found && (found.measured || (found.values && found.values.length))) {
        showSuggestions(row, found.values || []);
        return;
      }
      if (asked[key]) { showSuggestions(row, asked[key]); return; }
      text(row.querySelector("[data-rule-hint]"), "Reading the values\u2026");
      fetch(form.getAttribute("data-values-url") + "?field=" + encodeURIComponent(key), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (response) { return response.json(); }).then(function (body) {
        asked[key] = body.values || [];
        if (fieldSelect.value === key) showSuggestions(row, asked[key]);
      }).catch(function () { text(row.querySelector("[data-rule-hint]"), ""); });
    }

    function addRule(button) {
      var body = form.querySelector(".scope-table tbody");
      var rows = body.querySelectorAll("tr[data-rule-row]");
      var last = rows[rows.length - 1];
      var index = rows.length;
      var row = last.cloneNode(true);
      var from = last.getAttribute("data-rule-row");
      row.setAttribute("data-rule-row", String(index));
      row.querySelectorAll("[id],[name],[for],[list],[aria-describedby]").forEach(function (el) {
        ["id", "name", "for", "list", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace("rule-" + from + "-", "rule-" + index + "-").replace("rule_" + from + "_", "rule_" + index + "_"));
        });
      });
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        if (input.name.slice(-7) === "_values") input.placeholder = VALUES_HINT;
      });
      row.querySelectorAll("select").forEach(function (select) {
        var preferred = select.name.slice(-7) === "_effect" ? "exclude" : (select.name.slice(-3) === "_op" ? "equals" : "");
        select.value = preferred;
      });
      row.querySelectorAll("datalist").forEach(function (list) { list.innerHTML = ""; });
      row.querySelectorAll("[data-rule-hint]").forEach(function (hint) { hint.textContent = ""; });
      var remove = row.querySelector("[data-remove-rule]");
      if (remove) remove.closest("td").innerHTML = "";
      body.appendChild(row);
      row.querySelector('select[name$="_field"]').focus();
    }

    function previewTransforms(button) {
      var slot = form.querySelector("[data-transform-preview-slot]");
      var data = new FormData(form);
      data.delete("action");
      button.setAttribute("aria-busy", "true");
      button.disabled = true;
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
        headers: { "Accept": "text/html" }
      }).then(function (response) { return response.text(); }).then(function (html) {
        slot.innerHTML = html;
      }).catch(function () {
        slot.textContent = "The preview could not be made: the portal could not be reached. Your changes are still on this page.";
      }).then(function () {
        button.removeAttribute("aria-busy");
        button.disabled = false;
      });
    }

    form.addEventListener("change", function (event) {
      var el = event.target;
      if (el.matches('select[name^="map."]')) { coverage(el); refreshTargets(); }
      else if (el.matches("input[data-extra-target]")) refreshTargets();
      else if (el.matches('select[name^="t_"][name$="_type"]')) settings(el);
      else if (el.matches('select[name^="rule_"][name$="_field"]')) suggest(el);
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button") : null;
      if (!button) return;
      if (button.hasAttribute("data-add-rule")) { event.preventDefault(); addRule(button); }
      else if (button.hasAttribute("data-preview-transforms")) { event.preventDefault(); previewTransforms(button); }
    });
    form.querySelectorAll('select[name^="t_"][name$="_type"]').forEach(settings);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-mapping-form]").forEach(bind);
  });
})();
