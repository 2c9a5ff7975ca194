// weight_gradient.js: chapter 5's explorer. Tap (i, j) of a KH x KW kernel multiplies one pixel
// of the padded input in every output position, so its gradient is
//   dW[i, j] = sum over (oh, ow) of dout[oh, ow] * x_pad[oh*S + i*D, ow*S + j*D]
// and db = sum of dout. The picture outlines the pixels tap (i, j) reads, each labelled with the
// dout entry that multiplies it: dout lies over the input like a kernel, its entries S apart
// (the stride acts as dout's dilation), shifted by (i*D, j*D). The sum is written out; the
// dW grid shows all the taps (click one to pick it).

const CELL = 30;
const SMALL = 26;
const MAX_TERMS = 30; // longer sums list only their non-zero products

// A number as the book prints it: a real minus sign, negatives in brackets inside a product.
function num(v) {
  return v < 0 ? `−${-v}` : String(v);
}
function par(v) {
  return v < 0 ? `(${num(v)})` : num(v);
}

// The largest tap index along an axis of `kernel` taps (0 for a kernel that is not valid).
function lastTap(kernel) {
  return Number.isInteger(kernel) && kernel >= 1 ? kernel - 1 : 0;
}

// x_pad[r, c] of the top-left H x W block of x padded by P (zero outside).
function padded(x, { H, W, P }) {
  return (r, c) => {
    const a = r - P;
    const b = c - P;
    return a >= 0 && a < H && b >= 0 && b < W ? x[a][b] : 0;
  };
}

// "a·b + c·d + ... = total"; with more than MAX_TERMS products only the non-zero ones.
function writeSum(products, total) {
  let shown = products;
  let tail = "";
  if (products.length > MAX_TERMS) {
    shown = products.filter(([a, b]) => a * b !== 0);
    const zeros = products.length - shown.length;
    if (zeros) tail = ` + (${zeros} more term${zeros === 1 ? "" : "s"} with a zero factor)`;
  }
  const body = shown.map(([a, b]) => `${par(a)}·${par(b)}`).join(" + ");
  return `${body || "0"}${tail} = ${num(total)}`;
}

// "a + b + ... = total" over the rows of dout; a longer sum adds up the row sums instead.
function writeTotal(rows, total) {
  const values = rows.flat();
  if (values.length <= MAX_TERMS) return `${values.map(par).join(" + ")} = ${num(total)}`;
  const sums = rows.map((row) => row.reduce((t, v) => t + v, 0));
  return `${sums.map(par).join(" + ")} (row by row) = ${num(total)}`;
}

// An SVG width that holds both the grid and its 12 px label.
function fits(width, text) {
  return Math.max(width, Math.ceil(text.length * 6.8) + 4);
}

function addText(g, x, y, text, cls = null, size = 12) {
  return s("text", { x, y, class: cls, "font-size": size, text }, g);
}

function tooltip(g, text) {
  s("title", { text }, g);
}

const spec = {
  name: "weight-gradient",
  title: "The weight gradient: dout slides over the input like a kernel",
  params: [
    ...layerParams({ H: [2, 7], W: [2, 7], KH: [1, 4], KW: [1, 4], S: [1, 3], P: [0, 2], D: [1, 2], floor: true }),
    { name: "i", label: "i", min: 0, max: 3, help: "kernel row of the tap" },
    { name: "j", label: "j", min: 0, max: 3, help: "kernel column of the tap" },
  ],
  invalidState: { tap: null, reads: null, value: null, dW: null, db: null },

  compute(p, model, ui) {
    // The tap sliders reach only the kernel's rows and columns, valid layer or not.
    ui.inputs.i.input.max = lastTap(p.KH);
    ui.inputs.j.input.max = lastTap(p.KW);
    const [OH, OW] = convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P, p.D, p.floor);
    const x = model.get("x") || [];
    const dout = model.get("dout") || [];
    checkArrayFits("H", p.H, "input x", gridShape(x));
    checkArrayFits("W", p.W, "input x", gridShape(x));
    checkArrayFits("OH", OH, "dout", gridShape(dout));
    checkArrayFits("OW", OW, "dout", gridShape(dout));

    const { KH, KW, S, D } = p;
    const xp = padded(x, p);
    const dW = range(KH).map((a) =>
      range(KW).map((b) => {
        let total = 0;
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) total += dout[oh][ow] * xp(oh * S + a * D, ow * S + b * D);
        }
        return total;
      }),
    );
    let db = 0;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) db += dout[oh][ow];
    const i = Math.max(0, Math.min(Number.isInteger(p.i) ? p.i : 0, KH - 1));
    const j = Math.max(0, Math.min(Number.isInteger(p.j) ? p.j : 0, KW - 1));
    const reads = [];
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) reads.push([oh, ow, oh * S + i * D, ow * S + j * D]);
    }
    const value = dW[i][j];
    const n = OH * OW;
    const summary =
      `tap (i, j) = (${i}, ${j}) of the ${KH}×${KW} kernel reads ${n} pixel${n === 1 ? "" : "s"}, ` +
      `one per position of the ${OH}×${OW} output: dW[${i}, ${j}] = ${num(value)}`;
    return { OH, OW, tap: [i, j], reads, value, dW, db, summary };
  },

  draw(view, p, result, ui) {
    const { model } = ui;
    const x = model.get("x") || [];
    const [xr, xc] = gridShape(x);
    // What still makes sense when the layer is not valid: the padded input alone.
    const H = Math.max(1, Math.min(Number.isInteger(p.H) ? p.H : 1, xr));
    const W = Math.max(1, Math.min(Number.isInteger(p.W) ? p.W : 1, xc));
    const P = Math.max(0, Math.min(Number.isInteger(p.P) ? p.P : 0, result ? Infinity : 3));
    const formulas = h("div", { class: "cx-formula" });
    const figs = h("div", { class: "cx-figs" });
    view.append(formulas, figs);

    let i = 0;
    let j = 0;
    if (result) {
      [i, j] = result.tap;
      // The range inputs were clamped to the kernel; show the tap actually used.
      ui.inputs.i.shown.textContent = String(i);
      ui.inputs.j.shown.textContent = String(j);
      const { S, D } = p;
      const { value, db } = result;
      const dout = model.get("dout");
      const xp = padded(x, p);
      const products = result.reads.map(([oh, ow, r, c]) => [dout[oh][ow], xp(r, c)]);
      const douts = range(result.OH).map((oh) => dout[oh].slice(0, result.OW));
      formulas.append(
        h("div", { text: "dW[i, j] = Σ over (oh, ow) of dout[oh, ow] · x_pad[oh·S + i·D, ow·S + j·D]" }),
        h("div", {
          text: `dW[${i}, ${j}] = Σ dout[oh, ow] · x_pad[oh·${S} + ${i}·${D}, ow·${S} + ${j}·${D}]`,
        }),
        h("div", { class: "cx-wg-sum", text: `dW[${i}, ${j}] = ${writeSum(products, value)}` }),
        h("div", { class: "cx-wg-sum", text: `db = Σ dout = ${writeTotal(douts, db)}` }),
      );
    }

    // The padded input: the pixels tap (i, j) reads outlined, each with its dout factor.
    const hp = H + 2 * P;
    const wp = W + 2 * P;
    const title = `x_pad, (H + 2P)×(W + 2P) = ${hp}×${wp}`;
    const svg = newSvg(fits(wp * CELL + 2, title), hp * CELL + 22, `padded input ${hp} by ${wp}`);
    label(svg, 1, 9, title);
    const g = s("g", { transform: "translate(1, 20)" }, svg);
    const factor = new Map();
    if (result) {
      const dout = model.get("dout");
      for (const [oh, ow, r, c] of result.reads) factor.set(`${r},${c}`, [oh, ow, dout[oh][ow]]);
    }
    for (let r = 0; r < hp; r++) {
      for (let c = 0; c < wp; c++) {
        const pad = r < P || c < P || r >= P + H || c >= P + W;
        const v = pad ? 0 : (x[r - P] || [])[c - P] ?? 0;
        const read = factor.get(`${r},${c}`);
        const X = c * CELL;
        const Y = r * CELL;
        if (!read) {
          cell(g, X, Y, CELL, pad ? "cx-pad" : "cx-input", pad ? null : num(v), svg.hatch);
          continue;
        }
        const [oh, ow, d] = read;
        const box = cell(g, X, Y, CELL, `${pad ? "cx-pad" : "cx-input"} cx-current`, null, svg.hatch);
        addText(box, X + CELL / 2, Y + CELL * 0.62, num(v), "cx-wg-value", 12.5);
        addText(box, X + CELL - 3, Y + 7, `×${num(d)}`, "cx-wg-mult", 9);
        tooltip(
          box,
          `x_pad[${r}, ${c}] = ${num(v)}${pad ? " (padding)" : ""}, ` +
            `multiplied by dout[${oh}, ${ow}] = ${num(d)}`,
        );
      }
    }
    if (result) {
      // Where dout lies: its entries S apart, shifted by (i·D, j·D).
      s(
        "rect",
        {
          x: j * p.D * CELL,
          y: i * p.D * CELL,
          width: ((result.OW - 1) * p.S + 1) * CELL,
          height: ((result.OH - 1) * p.S + 1) * CELL,
          class: "cx-frame-accent",
        },
        g,
      );
    }
    figs.append(svg);

    if (result) {
      const { OH, OW } = result;
      const { KH, KW } = p;
      const dout = model.get("dout");
      const dtitle = `dout, OH×OW = ${OH}×${OW}`;
      const dsvg = newSvg(fits(OW * SMALL + 2, dtitle), OH * SMALL + 22, `dout ${OH} by ${OW}`);
      label(dsvg, 1, 9, dtitle);
      const gd = s("g", { transform: "translate(1, 20)" }, dsvg);
      for (const [oh, ow, r, c] of result.reads) {
        const box = cell(gd, ow * SMALL, oh * SMALL, SMALL, "cx-output", num(dout[oh][ow]));
        tooltip(box, `dout[${oh}, ${ow}] = ${num(dout[oh][ow])} multiplies x_pad[${r}, ${c}]`);
      }
      figs.append(dsvg);

      const wtitle = `dW, KH×KW = ${KH}×${KW}`;
      const dbText = `db = Σ dout = ${num(result.db)}`;
      const wsvg = newSvg(fits(fits(KW * CELL + 2, wtitle), dbText), KH * CELL + 44, `dW ${KH} by ${KW}`);
      label(wsvg, 1, 9, wtitle);
      const gw = s("g", { transform: "translate(1, 20)" }, wsvg);
      for (let a = 0; a < KH; a++) {
        for (let b = 0; b < KW; b++) {
          const on = a === i && b === j;
          const box = cell(gw, b * CELL, a * CELL, CELL, on ? "cx-output cx-current" : "cx-output");
          const t = num(result.dW[a][b]);
          addText(box, b * CELL + CELL / 2, a * CELL + CELL / 2, t, on ? "cx-wg-on" : null, 12.5);
          tooltip(box, `dW[${a}, ${b}] = ${num(result.dW[a][b])}${on ? " (shown)" : ": click to show its sum"}`);
          box.classList.add("cx-wg-pick");
          box.addEventListener("click", () => {
            model.set("i", a);
            model.set("j", b);
            model.save_changes();
          });
        }
      }
      label(wsvg, 1, KH * CELL + 34, dbText);
      figs.append(wsvg);
    }

    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      '<span><i class="cx-swatch" style="background:var(--cx-pad)"></i>padding (zeros)</span>' +
      (result
        ? '<span><i class="cx-swatch" style="background:var(--cx-current-fill);border:2px solid var(--cx-current)"></i>' +
          "a pixel tap (i, j) reads, ×d: its dout factor</span>" +
          '<span><i class="cx-swatch" style="border:2px dashed var(--cx-accent)"></i>' +
          "dout over x_pad, entries S apart</span>"
        : "");
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
