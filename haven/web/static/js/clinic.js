/* Clinic pages: small enhancements over plain forms (everything works without this script). */
(function () {
  "use strict";

  // After DOMContentLoaded: every deferred script (the QR decoder, the scanner) has run by then.
  function ready(fn) {
    if (document.readyState === "complete") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // The lot field offers the lots of the vaccine chosen (the site's lot register).
    var product = document.getElementById("vac_product");
    var lot = document.getElementById("vac_lot");
    if (product && lot && lot.hasAttribute("list")) {
      product.addEventListener("change", function () {
        var own = document.getElementById("lots-" + product.value);
        lot.setAttribute("list", own ? own.id : "lots-all");
      });
    }
  });

  ready(function () {
    // A form's summary of errors takes focus (read out first); its links move focus to their field.
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
      summary.querySelectorAll("a[href^='#']").forEach(function (link) {
        link.addEventListener("click", function (event) {
          var field = document.getElementById(link.getAttribute("href").slice(1));
          if (!field) return;
          event.preventDefault();
          var label = document.querySelector("label[for='" + field.id + "']");
          (label || field).scrollIntoView({ block: "center" });
          field.focus({ preventScroll: true });
        });
      });
    } else {
      // A form with one message and no summary: focus goes to the first field that is marked wrong.
      var invalid = document.querySelector("main [aria-invalid='true']");
      if (invalid) invalid.focus();
    }
    // Typing is activity: while a form is filled in, its open card is touched (at most once a minute),
    // so it does not close under the worker's hands.
    document.querySelectorAll("form[data-keepalive]").forEach(function (form) {
      var last = 0;
      function touch() {
        if (Date.now() - last < 60000) return;
        last = Date.now();
        fetch(form.dataset.keepalive, { credentials: "same-origin", headers: { Accept: "application/json" } }).catch(
          function () {}
        );
      }
      form.addEventListener("input", touch);
      form.addEventListener("change", touch);
    });
    // Enter in the words box opens the card (Shift+Enter still makes a new line; Enter that ends an input
    // method's composition, as Korean and Chinese keyboards use it, does not submit).
    document.querySelectorAll("textarea[enterkeyhint='go']").forEach(function (box) {
      box.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
        event.preventDefault();
        box.form.requestSubmit();
      });
    });
    // The certificate form says, before issuing, how long the sheet will be valid: a chosen test cuts the
    // whole sheet's validity (the latest test chosen is the one stated).
    var validity = document.getElementById("sheet-validity");
    if (validity) {
      var sheetForm = validity.closest("form");
      var updateValidity = function () {
        var cut = "";
        sheetForm.querySelectorAll("input[data-expires]:checked").forEach(function (box) {
          if (box.dataset.expires > cut) cut = box.dataset.expires;
        });
        var template = cut ? validity.dataset.msgTest : validity.dataset.msgValid;
        validity.textContent = template.replace("{date}", cut || validity.dataset.year);
        validity.classList.toggle("warn", cut !== "");
      };
      sheetForm.addEventListener("change", updateValidity);
      updateValidity();
    }
    document.querySelectorAll(".js-hide").forEach(function (el) {
      el.hidden = true;
    });
    document.querySelectorAll("select.autosubmit").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.submit();
      });
    });
    // A result list whose options name their tests (data-tests) offers only the chosen test's results.
    document.querySelectorAll("select[data-results-of]").forEach(function (result) {
      var test = document.getElementById(result.dataset.resultsOf);
      function offer() {
        Array.prototype.forEach.call(result.options, function (option) {
          if (!option.value) return;
          var fits = !test.value || option.dataset.tests.split(" ").indexOf(test.value) >= 0;
          option.hidden = !fits;
          option.disabled = !fits;
          if (!fits && option.selected) result.value = "";
        });
      }
      test.addEventListener("change", offer);
      offer();
    });
    document.querySelectorAll(".print-button").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
    document.querySelectorAll(".scanner").forEach(function (box) {
      var start = box.querySelector(".scanner-start");
      var status = box.querySelector(".scanner-status");
      var video = box.querySelector(".scanner-video");
      if (!window.HavenScanner || !window.jsQR) {
        box.hidden = true;
        return;
      }
      var target = document.getElementById(box.dataset.target);
      var form = document.getElementById(box.dataset.submit);
      var chunks = {}; // a SMART Health Card in several QR codes: index -> the chunk read, until all are in
      var progress = ""; // how many of them are read, said while looking for the next
      var scanner = new window.HavenScanner(
        video,
        function (text) {
          var chunk = /^shc:\/(\d+)\/(\d+)\//.exec(text);
          var total = chunk ? Number(chunk[2]) : 0;
          if (chunk && total > 1 && Number(chunk[1]) >= 1 && Number(chunk[1]) <= total) {
            if (Object.keys(chunks).some(function (i) { return chunks[i].total !== total; })) chunks = {};
            chunks[chunk[1]] = { text: text, total: total };
            var read = Object.keys(chunks).length;
            if (read < total) {
              progress = box.dataset.msgChunks.replace("{read}", read).replace("{total}", total);
              scanner.start(); // the next QR code of the card
              return;
            }
            text = Object.keys(chunks)
              .sort(function (a, b) { return a - b; })
              .map(function (i) { return chunks[i].text; })
              .join(" ");
            chunks = {};
            progress = "";
          }
          target.value = text;
          form.submit();
        },
        function (state) {
          var message = box.dataset["msg" + state.charAt(0).toUpperCase() + state.slice(1)] || "";
          status.textContent = progress && state === "looking" ? progress + " " + message : message;
          start.hidden = state === "looking" || state === "starting";
        }
      );
      start.addEventListener("click", function () {
        scanner.start();
      });
    });
  });
})();
