// The page works without this script: it adds reading a file into the text box, asks for the
// access token once (kept in this tab's session storage), and prints the letter.
(function () {
  "use strict";
  document.documentElement.classList.add("has-script");
  var file = document.getElementById("file");
  var text = document.getElementById("case");
  if (file && text) {
    file.addEventListener("change", function () {
      if (!file.files.length) { return; }
      var reader = new FileReader();
      reader.onload = function () { text.value = reader.result; };
      reader.readAsText(file.files[0]);
    });
  }
  var saved = window.sessionStorage.getItem("sijfasp-token") || "";
  document.querySelectorAll("input[name=token]").forEach(function (input) {
    if (saved) { input.value = saved; }
    input.form.addEventListener("submit", function () {
      window.sessionStorage.setItem("sijfasp-token", input.value);
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
