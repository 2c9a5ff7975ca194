// Loaded (by nb_ipywidgets_js in _config.yml) between require.js and the widget manager on
// every page that embeds widget state. It points RequireJS at the vendored copies next to this
// file, so the explorers render offline, without a CDN: "anywidget" is anywidget's front-end,
// and the widget manager's own folder (where it looks for its Font Awesome fonts) is
// vendor/html-manager.
(function () {
  var src = document.currentScript.src;
  var base = src.slice(0, src.lastIndexOf("/") + 1);
  requirejs.config({
    paths: {
      anywidget: base + "vendor/anywidget",
      "@jupyter-widgets/html-manager/dist": base + "vendor/html-manager",
    },
  });
})();
