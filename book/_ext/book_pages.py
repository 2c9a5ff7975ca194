"""Local Sphinx extension: tidy the scripts each page loads.

* Jupyter Book 1.x registers some inline scripts twice (sphinx-thebe's ``const THEBE_JS_URL``
  and sphinx-togglebutton's selector), and the second ``const`` declaration is a console error
  ("Identifier 'THEBE_JS_URL' has already been declared"). Keep the first copy of each.

Pages with an explorer keep the widget-state script that MyST-NB embeds: the explorers
(anywidget) render from it in the static page, with no kernel.
"""


def _key(js):
    attrs = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", js) or "", attrs.get("body"), attrs.get("type"))


def tidy_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = _key(js)
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", tidy_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
