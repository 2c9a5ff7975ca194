"""Local Sphinx extension: tidy the scripts each page loads.

* Jupyter Book 1.x registers some inline scripts twice (sphinx-thebe's ``const THEBE_JS_URL``
  and sphinx-togglebutton's selector), and the second ``const`` declaration is a console error
  ("Identifier 'THEBE_JS_URL' has already been declared"). Keep the first copy of each.

Pages with an explorer keep the widget-state script that MyST-NB embeds: the explorers
(anywidget) render from it in the static page, with no kernel. A page whose widget state holds
no explorer (chapter 10's training progress bar, whose output the book hides) loses the state and
the widget manager's scripts: nothing there to render, and about 4 MB less to load.
"""

import json

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_JS = ("vendor/require.js", "widgets-config.js", "vendor/embed-amd.js")


def _has_explorer(state_js) -> bool:
    body = (getattr(state_js, "attributes", {}) or {}).get("body") or "{}"
    models = json.loads(body).get("state", {}).values()
    return any(m.get("model_module") == "anywidget" for m in models)


def _key(js):
    attrs = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", js) or "", attrs.get("body"), attrs.get("type"))


def tidy_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    states = [
        js for js in scripts if (getattr(js, "attributes", {}) or {}).get("type") == WIDGET_STATE
    ]
    drop_widgets = bool(states) and not any(_has_explorer(js) for js in states)
    seen, kept = set(), []
    for js in scripts:
        is_state = any(js is state for state in states)
        if drop_widgets and (is_state or str(getattr(js, "filename", "")).endswith(WIDGET_JS)):
            continue
        key = _key(js)
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", tidy_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
