// Starts ReDoc from the container's data attributes (no inline script: the CSP forbids it).
(function () {
  var container = document.getElementById("redoc-container");
  var settings = JSON.parse(container.dataset.settings || "{}");
  Redoc.init(container.dataset.schemaUrl, settings, container);
})();
