// Signup form: suggest the shop address from its name and check it as people type.
// The form works without this script; the server checks everything again on submit.
(function () {
  "use strict";
  var form = document.getElementById("signup-form");
  if (!form) return;
  var name = form.querySelector("#shop_name");
  var slug = form.querySelector("#slug");
  var status = document.getElementById("slug-status");
  var preview = document.getElementById("slug-preview");
  var edited = slug.value !== "";
  var timer = null;
  var latest = 0;

  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  }

  function check() {
    var value = slug.value.trim();
    preview.textContent = value || "your-shop";
    if (!value) { status.textContent = ""; return; }
    var ticket = ++latest;
    fetch(slug.dataset.checkUrl + "?slug=" + encodeURIComponent(value), {headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (ticket !== latest) return;  // an older answer arriving late
        status.textContent = data.available ? "✓ " + value + " is available" : data.message;
        status.className = "slug-status " + (data.available ? "ok" : "bad");
        slug.setAttribute("aria-invalid", data.available ? "false" : "true");
      })
      .catch(function () { status.textContent = ""; });
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 250); }

  name.addEventListener("input", function () {
    if (!edited) { slug.value = slugify(name.value); later(); }
  });
  slug.addEventListener("input", function () { edited = slug.value !== ""; later(); });
  // Someone may type the name before this deferred script runs: catch up with them.
  if (!edited && name.value) slug.value = slugify(name.value);
  if (slug.value) check();
})();
