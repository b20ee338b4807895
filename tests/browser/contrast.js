// Run in the page by the browser test: every visible element that shows text of its own, and
// every field and button, with the WCAG 2 contrast ratio of its text colour on the background
// it is actually drawn on (its own and its ancestors' backgrounds, composited). Returns how
// many were measured and those under `least` (arguments[0]).
const least = arguments[0];

function parse(css) {
  const m = /rgba?\(([^)]+)\)/.exec(css);
  if (!m) {
    return null;
  }
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
}

// `top` painted over `below`.
function over(top, below) {
  const a = top.a + below.a * (1 - top.a);
  const mix = (k) => (top[k] * top.a + below[k] * below.a * (1 - top.a)) / (a || 1);
  return { r: mix('r'), g: mix('g'), b: mix('b'), a };
}

function background(element) {
  const layers = [];
  for (let e = element; e; e = e.parentElement) {
    const colour = parse(getComputedStyle(e).backgroundColor);
    if (colour && colour.a > 0) {
      layers.push(colour);
      if (colour.a >= 1) {
        break;
      }
    }
  }
  // Below everything, the browser's canvas: white, or Chromium's dark grey in a dark scheme.
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  let result = dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  for (let i = layers.length - 1; i >= 0; i--) {
    result = over(layers[i], result);
  }
  return result;
}

function luminance(c) {
  const linear = (v) => {
    v /= 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

function ratio(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

function shown(element) {
  const style = getComputedStyle(element);
  return style.display !== 'none' && style.visibility !== 'hidden'
    && parseFloat(style.opacity) > 0 && element.getClientRects().length > 0;
}

function describe(element) {
  let what = element.tagName.toLowerCase();
  if (element.id) {
    what += '#' + element.id;
  }
  if (element.className) {
    what += '.' + String(element.className).trim().replace(/\s+/g, '.');
  }
  return what;
}

let measured = 0;
const failures = [];
for (const element of document.body.querySelectorAll('*')) {
  const ownText = Array.from(element.childNodes)
    .some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
  const control = element.matches('input:not([type=hidden]), textarea, select, button');
  if (!(ownText || control) || !shown(element)) {
    continue;
  }
  const back = background(element);
  const text = over(parse(getComputedStyle(element).color), back);
  const contrast = ratio(text, back);
  measured += 1;
  if (contrast < least) {
    const rgb = (c) => `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
    failures.push(`${describe(element)}: ${rgb(text)} on ${rgb(back)} is ${contrast.toFixed(2)}:1`);
  }
}
return { measured, failures };
