// receptive_field.js: chapter 7's explorer. A stack of L unpadded layers (kernel KH_l, stride
// S_l, dilation D_l) on one axis of H input rows, drawn as a column: one row of cells per layer,
// the input at the bottom, every unit placed over the middle of the input rows it sees. The
// cone of the selected unit o of the last layer (every cell that feeds it, with the number of
// paths) is outlined, and the recurrence is written out with the numbers:
//   r_0 = j_0 = 1,  r_l = r_(l-1) + (KH_l - 1)·D_l·j_(l-1),  j_l = j_(l-1)·S_l.

const LAYERS = 4;

function layerOf(p, l) {
  return { k: p[`KH${l}`], s: p[`S${l}`], d: p[`D${l}`] };
}

function isCount(v) {
  return Number.isInteger(v) && v >= 1;
}

function checkLayerCount(L) {
  checkInt("L", L, 1);
  if (L > LAYERS) throw new GeometryError(`L must be <= ${LAYERS}, got ${L}`);
  return L;
}

// What the parameters give, as far as they go: the sizes up to the first layer that fails (and
// its error), and the recurrence r_l, j_l while the kernel, stride and dilation are counts.
function stack(p) {
  const L = Number.isInteger(p.L) ? Math.max(1, Math.min(LAYERS, p.L)) : 1;
  const sizes = [p.H];
  let failed = null;
  for (let l = 1; l <= L; l++) {
    const { k, s, d } = layerOf(p, l);
    try {
      sizes.push(outputSize(sizes[l - 1], k, s, 0, d, Boolean(p.floor)));
    } catch (e) {
      if (!(e instanceof GeometryError)) throw e;
      failed = { layer: l, message: `layer ${l}: ${e.message}` };
      break;
    }
  }
  const rfs = [1];
  const jumps = [1];
  for (let l = 1; l <= L; l++) {
    const { k, s, d } = layerOf(p, l);
    if (!isCount(k) || !isCount(s) || !isCount(d)) break;
    rfs.push(rfs[l - 1] + (k - 1) * d * jumps[l - 1]);
    jumps.push(jumps[l - 1] * s);
  }
  return { L, sizes, failed, rfs, jumps };
}

// paths[l][i]: the number of paths from unit i of layer l up to unit `unit` of layer L (the
// backward pass of kernels of ones from a one-hot gradient); nonzero exactly on the cone.
function conePaths(p, sizes, L, unit) {
  const paths = [];
  paths[L] = new Array(sizes[L]).fill(0);
  paths[L][unit] = 1;
  for (let l = L; l >= 1; l--) {
    const { k, s, d } = layerOf(p, l);
    const below = new Array(sizes[l - 1]).fill(0);
    paths[l].forEach((n, u) => {
      if (n) for (let t = 0; t < k; t++) below[u * s + t * d] += n;
    });
    paths[l - 1] = below;
  }
  return paths;
}

const spec = {
  name: "receptive-field",
  title: "Receptive field of a stack of layers",
  params: [
    { name: "L", label: "L", min: 1, max: LAYERS, help: "number of layers" },
    ...range(LAYERS).flatMap((i) => [
      { name: `KH${i + 1}`, label: "KH", min: 1, max: 5, help: `kernel size of layer ${i + 1}` },
      { name: `S${i + 1}`, label: "S", min: 1, max: 3, help: `stride of layer ${i + 1}` },
      { name: `D${i + 1}`, label: "D", min: 1, max: 4, help: `dilation of layer ${i + 1}` },
    ]),
    { name: "H", label: "H", min: 8, max: 64, help: "input size (rows)" },
    { name: "floor", label: "floor", type: "checkbox", help: "round each size down, as the frameworks do" },
    { name: "o", label: "o", min: 0, max: 63, help: "the output unit of the last layer whose cone is shown" },
  ],
  invalidState: {
    rf: null,
    jump: null,
    rfs: null,
    jumps: null,
    region: null,
    sizes: null,
    paths: null,
    unit: null,
  },

  compute(p, model, ui) {
    ui.layerBoxes.forEach((box, i) => (box.disabled = Number.isInteger(p.L) && i + 1 > p.L));
    const L = checkLayerCount(p.L);
    const { sizes, failed, rfs, jumps } = stack(p);
    if (failed) throw new GeometryError(failed.message);
    const OH = sizes[L];
    const unit = Math.max(0, Math.min(OH - 1, Math.floor(Number(p.o) || 0)));
    const o = ui.inputs.o;
    o.input.max = String(OH - 1);
    o.input.value = String(unit);
    o.shown.textContent = String(unit);
    const rf = rfs[L];
    const jump = jumps[L];
    const start = Math.max(0, unit * jump);
    const end = Math.min(p.H - 1, unit * jump + rf - 1);
    const summary =
      `layer ${L} has ${OH} unit${OH === 1 ? "" : "s"}; unit o = ${unit} sees input rows ` +
      `${start} to ${end}: receptive field ${rf}, jump ${jump}`;
    return {
      OH,
      OW: OH,
      rf,
      jump,
      rfs,
      jumps,
      region: [start, end],
      sizes,
      paths: conePaths(p, sizes, L, unit),
      unit,
      summary,
    };
  },

  extraControls(ui) {
    // Regroup the controls: L, H, floor and o first, then one box per layer.
    const box = (name) => ui.inputs[name].input.parentElement;
    const top = h("div", { class: "rf-top" }, box("L"), box("H"), box("floor"), box("o"));
    const layers = h("div", { class: "rf-layers" });
    ui.layerBoxes = range(LAYERS).map((i) => {
      const l = i + 1;
      const set = h("fieldset", { class: "rf-layer" }, h("legend", { text: `layer ${l}` }));
      set.append(box(`KH${l}`), box(`S${l}`), box(`D${l}`));
      layers.append(set);
      return set;
    });
    const { model } = ui;
    const go = (f) => () => {
      const max = Number(ui.inputs.o.input.max);
      const now = Math.max(0, Math.min(max, Number(model.get("o")) || 0));
      model.set("o", Math.max(0, Math.min(max, f(now, max))));
      model.save_changes();
    };
    const button = (title, text, f) => {
      const b = h("button", { type: "button", title, text });
      b.addEventListener("click", go(f));
      return b;
    };
    const bar = h(
      "div",
      { class: "cx-buttons rf-buttons" },
      button("Previous output unit", "◀ o − 1", (v) => v - 1),
      button("Middle output unit", "middle", (_, max) => Math.floor(max / 2)),
      button("Next output unit", "o + 1 ▶", (v) => v + 1),
    );
    top.append(bar);
    ui.controls.replaceChildren(top, layers);
  },

  draw(view, p, result, ui) {
    const st = stack(p);
    view.append(formulas(p, st, result), table(p, st, result));
    const figs = h("div", { class: "cx-figs" });
    view.append(figs);
    if (Number.isInteger(p.H) && p.H >= 1 && p.H <= 256) figs.append(column(p, st, result, ui));
    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      '<span><i class="cx-swatch" style="background:var(--cx-current-fill);border:2px solid var(--cx-current)"></i>' +
      "feeds unit o (number: paths to it)</span>" +
      '<span><i class="cx-swatch" style="border:2px solid var(--cx-current)"></i>receptive field of o</span>' +
      '<span><i class="cx-swatch" style="border:2px dashed var(--cx-accent)"></i>field of o + 1</span>';
    if (result) view.append(legend);
  },
};

// The recurrence, one line per layer, with the numbers in; then the rows unit o sees.
function formulas(p, st, result) {
  const box = h("div", { class: "cx-formula rf-formula" });
  // One line per layer; the pieces wrap as wholes on a narrow page.
  const line = (...parts) => h("div", {}, ...parts.map((text) => h("span", { text })));
  box.append(line("r_l = r_(l−1) + (KH_l − 1)·D_l·j_(l−1)", "j_l = j_(l−1)·S_l", "r_0 = j_0 = 1"));
  for (let l = 1; l < st.rfs.length; l++) {
    const { k, s, d } = layerOf(p, l);
    const [r0, j0] = [st.rfs[l - 1], st.jumps[l - 1]];
    box.append(
      line(`r_${l} = ${r0} + (${k} − 1)·${d}·${j0} = ${st.rfs[l]}`, `j_${l} = ${j0}·${s} = ${st.jumps[l]}`),
    );
  }
  if (result) {
    const { unit, rf, jump, region } = result;
    const L = st.L;
    box.append(
      line(
        `unit o = ${unit} sees rows o·j_${L} … o·j_${L} + r_${L} − 1`,
        `= ${unit}·${jump} … ${unit}·${jump} + ${rf} − 1`,
        `= ${region[0]} … ${region[1]}`,
      ),
    );
    const read = result.paths[0].filter((n) => n > 0).length;
    if (read < rf) {
      box.append(
        h("div", {
          class: "rf-gaps",
          text: `it reads only ${read} of those ${rf} rows: the others fall between dilated taps`,
        }),
      );
    }
  }
  return box;
}

// Per layer: its kernel, stride, dilation, the feature-map size, r_l and j_l.
function table(p, st, result) {
  const t = h("table", { class: "cx-table rf-table" });
  const head = h("tr");
  for (const text of ["layer l", "KH_l", "S_l", "D_l", "size", "r_l", "j_l"]) {
    head.append(h("th", { text, scope: "col" }));
  }
  t.append(h("thead", {}, head));
  const body = h("tbody");
  for (let l = 0; l <= st.L; l++) {
    const { k, s, d } = l ? layerOf(p, l) : { k: "–", s: "–", d: "–" };
    let size = st.sizes[l];
    if (size === undefined) size = st.failed && st.failed.layer === l ? "✕" : "–";
    const row = h("tr", { class: result && l === st.L ? "rf-last" : null });
    const cells = [l ? String(l) : "0 (input)", k, s, d, size, st.rfs[l], st.jumps[l]];
    for (const v of cells) row.append(h("td", { text: v === undefined ? "–" : String(v) }));
    body.append(row);
  }
  t.append(body);
  return t;
}

// The column diagram: layer L at the top, the input at the bottom, unit i of layer l drawn over
// the middle of the rows it sees (x = i·j_l + (r_l − 1)/2), so the cone narrows upwards.
function column(p, st, result, ui) {
  const H = p.H;
  const cw = Math.max(8, Math.min(24, Math.floor(576 / H)));
  const rh = Math.max(cw, 16);
  const gap = Math.max(26, 2 * cw);
  const gutter = 60;
  const rows = st.sizes.length; // the input and the layers whose size is known
  const L = result ? st.L : rows - 1;
  const top = result ? 16 : 4;
  const width = gutter + H * cw + 4;
  const height = top + rows * rh + (rows - 1) * gap + (result ? 30 : 6);
  const svg = newSvg(width, height, `column of ${rows} rows, input of ${H}`);
  const rowY = (l) => top + (L - l) * (rh + gap);
  const known = (l) => l < st.rfs.length;
  const centre = (l, i) => gutter + (i * st.jumps[l] + (st.rfs[l] - 1) / 2 + 0.5) * cw;
  const paths = result ? result.paths : null;
  const edges = s("g", { class: "rf-edges" }, svg);
  const text = cw >= 14;
  for (let l = 0; l <= L; l++) {
    if (!known(l)) break;
    const y = rowY(l);
    s("text", { x: 2, y: y + rh / 2, class: "cx-label rf-row", text: l ? `layer ${l}` : "input" }, svg);
    for (let i = 0; i < st.sizes[l]; i++) {
      const x = centre(l, i) - cw / 2;
      const n = paths ? paths[l][i] : 0;
      let cls = l ? "cx-output" : "cx-input";
      if (n) cls += " cx-current";
      const g = s("g", { class: `cx-cell ${cls}` }, svg);
      s("rect", { x, y, width: cw, height: rh }, g);
      if (result && l === L) {
        // Clicking a unit of the last layer selects it (the o slider does it by keyboard).
        g.classList.add("rf-pick");
        g.addEventListener("click", () => {
          ui.model.set("o", i);
          ui.model.save_changes();
        });
      }
      if (n && text) {
        const size = Math.min(cw * (n > 99 ? 0.36 : 0.45), 12);
        s("text", { x: x + cw / 2, y: y + rh / 2, "font-size": size, text: String(n) }, g);
      }
      if (n && l) {
        const { k, s: stride, d } = layerOf(p, l);
        for (let t = 0; t < k; t++) {
          const b = i * stride + t * d;
          const d2 = `M${centre(l, i)},${y + rh} L${centre(l - 1, b)},${rowY(l - 1)}`;
          s("path", { d: d2, class: "rf-edge" }, edges);
        }
      }
    }
  }
  if (result) {
    const { unit, region, jump, rf } = result;
    label(svg, centre(L, unit), top - 7, `o = ${unit}`, "rf-unit", "middle");
    const y0 = rowY(0);
    const frame = (a, b, cls, inset) =>
      s(
        "rect",
        {
          x: gutter + a * cw - inset,
          y: y0 - inset,
          width: (b - a + 1) * cw + 2 * inset,
          height: rh + 2 * inset,
          class: cls,
        },
        svg,
      );
    if (unit + 1 < result.OH) frame(region[0] + jump, region[1] + jump, "cx-frame-accent", 4);
    frame(region[0], region[1], "cx-frame", 1.5);
    const mid = gutter + ((region[0] + region[1] + 1) / 2) * cw;
    const x = Math.max(gutter + 40, Math.min(width - 40, mid));
    label(svg, x, y0 + rh + 16, `r_${L} = ${rf} rows`, "rf-unit", "middle");
  }
  return svg;
}

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
