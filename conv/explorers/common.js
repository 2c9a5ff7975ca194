// common.js: the pieces every explorer shares. conv/explorers/base.py puts this file in front
// of each explorer's own module (an anywidget ES module is one Blob, so it cannot import a
// sibling file), so these names are in scope in every explorer.
//
// The integer geometry here is a port of conv.geometry: the same formulas and the same error
// messages, word for word. The browser tests sweep every explorer and compare what it shows
// with the Python package, so a slip in this file fails a test.

const SVG_NS = "http://www.w3.org/2000/svg";
let cxUid = 0; // unique ids for SVG patterns when several explorers share a page

class GeometryError extends Error {}

// Python's f"{value:g}" for the numbers the formulas produce (6 significant digits).
function pyG(value) {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

// conv.geometry.check_int
function checkInt(name, value, minimum) {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new GeometryError(`${name} must be an integer, got ${value}`);
  }
  if (value < minimum) throw new GeometryError(`${name} must be >= ${minimum}, got ${value}`);
  return value;
}

// conv.geometry.output_size: the number of window positions along one axis, or the reason.
function outputSize(size, kernel, stride = 1, padding = 0, dilation = 1, floor = false) {
  checkInt("size", size, 1);
  checkInt("kernel", kernel, 1);
  checkInt("stride", stride, 1);
  checkInt("padding", padding, 0);
  checkInt("dilation", dilation, 1);
  const span = dilation * (kernel - 1) + 1;
  const ktext = dilation === 1 ? String(kernel) : `(${dilation}*(${kernel} - 1) + 1)`;
  const room = size + 2 * padding - span;
  if (room < 0) {
    throw new GeometryError(
      `${size} - ${ktext} + 2*${padding} = ${room} is negative: a window of ${span} pixels ` +
        `does not fit in the padded input of ${size + 2 * padding} pixels`,
    );
  }
  const steps = Math.floor(room / stride);
  const rest = room % stride;
  if (rest && !floor) {
    const head =
      `(${size} - ${ktext} + 2*${padding}) / ${stride} + 1 = ${pyG(room / stride + 1)} ` +
      "is not an integer: ";
    if (rest <= padding) {
      throw new GeometryError(
        head +
          `only padding is left unread (no window reads the last ${rest} of the ` +
          `${padding} padding row(s), so the padding is effectively ${padding} before and ` +
          `${padding - rest} after); pass floor=True to accept it, as the frameworks do`,
      );
    }
    throw new GeometryError(
      head +
        `${rest - padding} real row(s) of pixels would be dropped (the last ${rest} ` +
        `padded row(s) are read by no window); sizes ${size - rest} or ` +
        `${size + stride - rest} would fit, or change the padding or stride ` +
        "(floor=True drops them, as the frameworks do)",
    );
  }
  return steps + 1;
}

// conv.geometry.conv_output_shape (without N and C): [OH, OW], the message names the axis.
function convOutputShape(H, W, KH, KW, S = 1, P = 0, D = 1, floor = false) {
  checkInt("H", H, 1);
  checkInt("W", W, 1);
  checkInt("kernel_h", KH, 1);
  checkInt("kernel_w", KW, 1);
  checkInt("stride", S, 1);
  checkInt("padding", P, 0);
  checkInt("dilation", D, 1);
  let oh, ow;
  try {
    oh = outputSize(H, KH, S, P, D, floor);
  } catch (e) {
    throw new GeometryError(`height (H=${H}, KH=${KH}): ${e.message}`);
  }
  try {
    ow = outputSize(W, KW, S, P, D, floor);
  } catch (e) {
    throw new GeometryError(`width (W=${W}, KW=${KW}): ${e.message}`);
  }
  return [oh, ow];
}

// Indices 0..n-1 of the real input rows that no kernel tap of any window reads.
function unreadIndices(size, kernel, stride, padding, dilation, nOut) {
  const read = new Array(size).fill(false);
  for (let o = 0; o < nOut; o++) {
    for (let k = 0; k < kernel; k++) {
      const r = o * stride + k * dilation - padding;
      if (r >= 0 && r < size) read[r] = true;
    }
  }
  const out = [];
  read.forEach((seen, r) => seen || out.push(r));
  return out;
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

// [rows, cols] of a nested list (the shortest row counts), [0, 0] for anything else.
function gridShape(a) {
  const rows = Array.isArray(a) ? a : [];
  const cols = rows.length ? Math.min(...rows.map((r) => (Array.isArray(r) ? r.length : 0))) : 0;
  return [rows.length, cols];
}

// conv.explorers.base.check_fits: a size beyond the explorer's arrays, the same message.
function checkArrayFits(letter, value, name, shape) {
  const [rows, cols] = shape;
  const limit = letter === "H" || letter === "OH" ? rows : cols;
  if (value > limit) {
    throw new GeometryError(
      `${letter} must be <= ${limit} (the explorer's ${name} is ${rows} x ${cols}), got ${value}`,
    );
  }
}

// ---- DOM and SVG ----------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

function s(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  if (parent) parent.append(node);
  return node;
}

// An <svg> that scales to the explorer's width; `width` x `height` in user units. Holds a
// hatch pattern (for padding) whose id is returned as `svg.hatch` ("url(#...)").
function newSvg(width, height, label) {
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "cx-svg",
    role: "img",
    "aria-label": label,
    style: `width: ${width}px`,
  });
  const id = `cx-hatch-${++cxUid}`;
  const defs = s("defs", {}, svg);
  const pat = s("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse" }, defs);
  s("rect", { width: 6, height: 6, class: "cx-pad" }, pat);
  s("path", { d: "M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5", class: "cx-hatch" }, pat);
  svg.hatch = `url(#${id})`;
  return svg;
}

// One square cell at (x, y) of size `size`, class `cls` (cx-input, cx-pad, cx-current, ...),
// with optional centred text.
function cell(parent, x, y, size, cls, text = null, hatch = null) {
  const g = s("g", { class: `cx-cell ${cls}` }, parent);
  const r = s("rect", { x, y, width: size, height: size }, g);
  if (hatch && cls.includes("cx-pad")) r.style.fill = hatch; // the hatched padding pattern
  if (text !== null && text !== undefined && text !== "") {
    s(
      "text",
      {
        x: x + size / 2,
        y: y + size / 2,
        "font-size": Math.min(size * 0.42, 13),
        text,
      },
      g,
    );
  }
  return g;
}

// A cross over a cell: something nobody reads (red for real pixels, grey for padding).
function cross(parent, x, y, size, cls) {
  const m = size * 0.2;
  s(
    "path",
    {
      d: `M${x + m},${y + m} L${x + size - m},${y + size - m} M${x + size - m},${y + m} L${x + m},${y + size - m}`,
      class: cls,
    },
    parent,
  );
}

function label(parent, x, y, text, cls = "cx-label", anchor = "start") {
  const t = s("text", { x, y, class: cls, text }, parent);
  t.style.textAnchor = anchor; // a style: the stylesheet's text-anchor beats an attribute
  return t;
}

function fmt(v) {
  if (Number.isInteger(v)) return String(v);
  const r = Math.round(v * 100) / 100;
  return String(r);
}

// First / previous / next / last / play buttons that walk the selection input `name` from 0 to
// its current max (windows, columns, ...). `noun` names one step in the buttons' titles.
function stepButtons(ui, name, noun, plural = `${noun}s`) {
  const { model } = ui;
  const bar = h("div", { class: "cx-buttons" });
  const max = () => Number(ui.inputs[name].input.max);
  const go = (f) => () => {
    const now = Math.min(model.get(name), max());
    model.set(name, Math.max(0, Math.min(max(), f(now, max()))));
    model.save_changes();
  };
  const button = (title, text, f) => {
    const b = h("button", { type: "button", title, text });
    if (f) b.addEventListener("click", go(f));
    bar.append(b);
    return b;
  };
  button(`First ${noun}`, "« first", () => 0);
  button(`Previous ${noun}`, "◀ prev", (v) => v - 1);
  button(`Next ${noun}`, "next ▶", (v) => v + 1);
  button(`Last ${noun}`, "last »", (_, m) => m);
  const play = button(`Play through the ${plural}`, "play", null);
  let timer = null;
  const stop = () => {
    clearInterval(timer);
    timer = null;
    play.textContent = "play";
  };
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (model.get(name) >= max()) go(() => 0)();
    play.textContent = "pause";
    timer = setInterval(() => {
      if (!ui.root.isConnected || model.get(name) >= max()) return stop();
      go((v) => v + 1)();
    }, 700);
  });
  ui.controls.append(bar);
  return bar;
}

// The book's letters as controls, in the order given, each with its range:
// layerParams({ H: [1, 12], W: [1, 12], KH: [1, 6], S: [1, 4], P: [0, 3], floor: true }).
const LETTER_HELP = {
  N: "images in the batch",
  C: "input channels",
  K: "filters = output channels",
  H: "input height",
  W: "input width",
  KH: "kernel height",
  KW: "kernel width",
  S: "stride",
  P: "zero padding on every side",
  D: "dilation",
  OP: "output padding",
  floor: "round down, as the frameworks do",
};

function layerParams(ranges) {
  return Object.entries(ranges).map(([name, r]) =>
    r === true
      ? { name, label: name, type: "checkbox", help: LETTER_HELP[name] }
      : { name, label: name, min: r[0], max: r[1], help: LETTER_HELP[name] },
  );
}

// ---- the explorer frame: controls, message, picture, data-state -----------------------------

// spec = {
//   name: "padding-stride",                    // data-explorer
//   title: "Padding and stride",
//   params: [{ name: "H", label: "H", min: 1, max: 12 }, { name: "floor", type: "checkbox" }],
//   compute(p, model) -> { OH, OW, ...extras }  // may throw GeometryError: shown as a message
//   draw(view, p, result, ui)                  // fills view (a <div>) from the result
//   extraControls(ui) (optional)               // extra buttons etc. appended to the controls
// }
// Every parameter is a native <input name=LETTER>; changing it writes the model (so Python sees
// it in JupyterLab) and recomputes. The root's data-state holds the parameters, OH, OW, valid,
// message and the explorer's extras after every update.
function explorer(spec, { model, el }) {
  // data-lm-suppress-shortcuts: in JupyterLab, arrow keys on a slider move the slider, not
  // the notebook's cell selection.
  const root = h("div", {
    class: "cx-explorer",
    "data-explorer": spec.name,
    "data-lm-suppress-shortcuts": "true",
  });
  const title = h("div", { class: "cx-title", text: spec.title });
  const controls = h("div", { class: "cx-controls" });
  const message = h("div", { class: "cx-message", role: "status", "aria-live": "polite" });
  const view = h("div", { class: "cx-view" });
  root.append(title, controls, message, view);
  el.append(root);
  // Keys pressed on the explorer's own controls belong to them: JupyterLab's notebook would
  // otherwise take the arrow keys (and cancel the slider's move) on their way up.
  root.addEventListener("keydown", (e) => e.stopPropagation());

  const inputs = {};
  for (const p of spec.params) {
    const id = `cx-${++cxUid}-${p.name}`;
    let input;
    if (p.type === "checkbox") {
      input = h("input", { type: "checkbox", name: p.name, id });
    } else {
      input = h("input", {
        type: "range",
        name: p.name,
        id,
        min: p.min,
        max: p.max,
        step: 1,
      });
    }
    const shown = h("output", { for: id, class: "cx-value" });
    const lab = h("label", { for: id, title: p.help || "" }, p.label || p.name);
    const box = h("div", { class: `cx-control cx-${p.type || "range"}` }, lab, input, shown);
    controls.append(box);
    inputs[p.name] = { input, shown, spec: p };
    input.addEventListener("input", () => {
      const value = p.type === "checkbox" ? input.checked : Number(input.value);
      model.set(p.name, value); // fires change:NAME, which redraws (below)
      model.save_changes();
    });
    model.on(`change:${p.name}`, () => update());
  }
  const ui = { root, controls, view, inputs, model, update: () => update(), h, s };
  if (spec.extraControls) spec.extraControls(ui);

  function params() {
    const out = {};
    for (const p of spec.params) out[p.name] = model.get(p.name);
    return out;
  }

  function update() {
    const p = params();
    for (const [name, { input, shown, spec: ps }] of Object.entries(inputs)) {
      if (ps.type === "checkbox") {
        input.checked = Boolean(p[name]);
        shown.textContent = p[name] ? "on" : "off";
      } else {
        if (String(input.value) !== String(p[name])) input.value = p[name];
        shown.textContent = String(p[name]);
      }
    }
    let result;
    let state;
    try {
      result = spec.compute(p, model, ui);
      state = { ...p, valid: true, message: "", ...result };
    } catch (e) {
      const text = e instanceof GeometryError ? e.message : `unexpected: ${e && e.message}`;
      result = null;
      state = { ...p, OH: null, OW: null, valid: false, message: text, ...(spec.invalidState || {}) };
    }
    message.textContent = state.valid ? result.summary || "" : `Not a valid layer: ${state.message}`;
    message.classList.toggle("cx-error", !state.valid);
    delete state.summary;
    // Keys starting with "_" are for draw() only, not part of data-state.
    for (const key of Object.keys(state)) if (key.startsWith("_")) delete state[key];
    // compute() may have changed a slider's max (the window count): set the values again.
    // The <output> shows what the slider shows (a selection past a shrunken max is clamped).
    for (const [name, { input, shown, spec: ps }] of Object.entries(inputs)) {
      if (ps.type === "checkbox") continue;
      if (String(input.value) !== String(p[name])) input.value = p[name];
      shown.textContent = String(input.value);
    }
    view.replaceChildren();
    try {
      spec.draw(view, p, result, ui);
    } catch (e) {
      // Drawing never throws at the reader: say what failed in the message line.
      state.valid = false;
      state.message = `could not draw: ${e && e.message}`;
      message.textContent = state.message;
      message.classList.add("cx-error");
    }
    root.dataset.state = JSON.stringify(state);
  }

  update();
  return () => root.remove();
}
