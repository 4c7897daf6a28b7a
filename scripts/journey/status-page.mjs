// The sequencer's status page in a real browser: headless Chromium renders `/status`, and the
// rendered DOM and a screenshot are both checked against what the devnet did during the journey.
//
//   node status-page.mjs URL DA MIN_SAFE PNG
//
// URL is the page (devnet.json's `status`), DA the backend the batcher was told to use, MIN_SAFE
// an L2 block the safe head must have reached, PNG where the screenshot is kept for a human to
// look at. The browser is $PARALLAX_CHROMIUM, else the first of chromium, chromium-browser,
// google-chrome on PATH. Prints one `ok` line per check; exits 1 with the reason on the first
// failure.
//
// The DOM check reads what the browser parsed (the heads, the batch rows with their DA backend,
// the proposal rows) and compares it with /status.json fetched just before. The screenshot check
// decodes the PNG and looks at pixels: the right size, mostly the white page, dark text drawn, and
// the stylesheet applied: each of the page's five tables has its header row painted in the header
// grey, so a scan down the image finds exactly five grey bands, in order from top to bottom.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { inflateSync } from "node:zlib";

const [url, da, minSafeArg, png] = process.argv.slice(2);
if (!url || !da || !minSafeArg || !png) {
  console.error("usage: node status-page.mjs URL DA MIN_SAFE PNG");
  process.exit(2);
}
const minSafe = Number(minSafeArg);
const WIDTH = 1400;
const HEIGHT = 2000;
// `th{background:#f4f4f4}` in the page's stylesheet.
const HEADER_GREY = [0xf4, 0xf4, 0xf4];
const TABLES = ["heads", "figures", "batches", "proposals", "dispute games"];

const fail = (why) => {
  console.error(`status page: ${why}`);
  process.exit(1);
};
const ok = (what) => console.log(`ok   status page: ${what}`);

/** The browser binary: an explicit one, else the usual names on PATH. */
function browser() {
  if (process.env.PARALLAX_CHROMIUM) return process.env.PARALLAX_CHROMIUM;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of (process.env.PATH ?? "").split(":")) {
      if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
    }
  }
  fail("no Chromium found (install Debian's `chromium` or set PARALLAX_CHROMIUM)");
}

/** Runs headless Chromium with `args` on the page; stdout is what it printed. */
function chromium(args) {
  try {
    return execFileSync(
      browser(),
      [
        "--headless",
        // Running as root (CI containers) needs no sandbox; the page is our own, on loopback.
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        `--window-size=${WIDTH},${HEIGHT}`,
        ...args,
        url,
      ],
      { encoding: "buffer", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 },
    );
  } catch (error) {
    fail(`chromium ${args.join(" ")}: ${error.message}\n${error.stderr ?? ""}`);
  }
}

// --- what the node reports --------------------------------------------------------------------
const statusJson = await fetch(url.replace(/\/status$/, "/status.json")).then((res) => {
  if (!res.ok) fail(`/status.json answered ${res.status}`);
  return res.json();
});

// --- the DOM, as the browser built it ---------------------------------------------------------
const dom = chromium(["--dump-dom"]).toString("utf8");
const cell = (id) => {
  const match = dom.match(new RegExp(`<td id="${id}">(\\d+)`));
  if (!match) fail(`no <td id="${id}"> with a number in the rendered page`);
  return Number(match[1]);
};
/** The data rows of table `id` (the first row is its header), each as its cells' text. */
const rows = (id) => {
  const table = dom.match(new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`));
  if (!table) fail(`no table #${id} in the rendered page`);
  return [...table[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .slice(1)
    .map((row) => [...row[1].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, "")));
};
const [unsafeHead, safeHead, finalizedHead] = [cell("unsafe"), cell("safe"), cell("finalized")];
if (!(safeHead >= minSafe && unsafeHead >= safeHead && safeHead >= finalizedHead)) {
  fail(`heads unsafe ${unsafeHead}, safe ${safeHead}, finalized ${finalizedHead}; safe must be >= ${minSafe}`);
}
if (unsafeHead < statusJson.unsafeHead || safeHead < statusJson.safeHead) {
  fail(`the page's heads (${unsafeHead}, ${safeHead}) are behind /status.json's earlier ones`);
}
if (!dom.includes(`chain ${statusJson.chainId}`) || !dom.includes("Parallax sequencer")) {
  fail("the title does not name the sequencer and its chain id");
}
ok(`Chromium rendered heads unsafe ${unsafeHead} >= safe ${safeHead} (>= ${minSafe}) >= finalized ${finalizedHead}, chain ${statusJson.chainId}`);

const batches = rows("batches");
const backends = da === "auto" ? ["calldata", "blobs"] : [da];
if (batches.length === 0) fail("no batches listed");
for (const [blocks, backend, bytes, l1Tx] of batches) {
  if (!/^\d+–\d+$/.test(blocks)) fail(`batch row with L2 blocks '${blocks}'`);
  if (!backends.includes(backend)) fail(`a batch on '${backend}', the devnet runs --da ${da}`);
  if (!/^[1-9]\d*$/.test(bytes)) fail(`batch row with size '${bytes}'`);
  if (!/^0x[0-9a-f]{64}$/.test(l1Tx)) fail(`batch row with L1 transaction '${l1Tx}'`);
}
const sizes = batches.map((row) => Number(row[2]));
ok(
  `${batches.length} recent batches listed, all on ${backends.join(" or ")}, ${Math.min(...sizes)}–${Math.max(...sizes)} bytes, ` +
    `first covering L2 blocks ${batches[0][0]}`,
);

const proposals = rows("proposals");
if (proposals.length === 0) fail("no proposals listed");
if (proposals.length < Math.min(10, statusJson.recentProposals.length)) {
  fail(`${proposals.length} proposal rows, /status.json had ${statusJson.recentProposals.length} a moment before`);
}
const window = /^(?:ends in (\d+) s|ended (\d+) s ago) \(\d\d:\d\d:\d\d UTC\)$|^not yet on L1$/;
let ended = 0;
for (const [block, root, status, finalization] of proposals) {
  if (!/^\d+$/.test(block) || !/^0x[0-9a-f]{64}$/.test(root) || !status) fail(`proposal row ${block} ${root} ${status}`);
  const match = finalization?.match(window);
  if (!match) fail(`proposal ${block}: challenge window '${finalization}'`);
  if (match[2] !== undefined) ended++;
}
// The journey finalized its withdrawal after the window of the proposal it was proven against,
// so older proposals on the page have left theirs.
if (ended === 0) fail("no listed proposal has left its challenge window");
ok(`${proposals.length} recent proposals listed, latest for L2 block ${proposals[0][0]} (${proposals[0][2]}, ${proposals[0][3]}); ${ended} past their challenge window`);

// --- the screenshot -------------------------------------------------------------------------
mkdirSync(dirname(png), { recursive: true });
chromium([`--screenshot=${png}`]);
const image = decodePng(readFileSync(png));
if (image.width !== WIDTH || image.height !== HEIGHT) fail(`screenshot is ${image.width}x${image.height}, not ${WIDTH}x${HEIGHT}`);
let white = 0;
let dark = 0;
const greyPerRow = new Array(image.height).fill(0);
for (let y = 0; y < image.height; y++) {
  for (let x = 0; x < image.width; x++) {
    const [r, g, b] = image.pixel(x, y);
    if (r === 255 && g === 255 && b === 255) white++;
    else if (r === HEADER_GREY[0] && g === HEADER_GREY[1] && b === HEADER_GREY[2]) greyPerRow[y]++;
    else if (r + g + b < 3 * 0x60) dark++;
  }
}
const total = image.width * image.height;
if (white < total / 2) fail(`only ${((100 * white) / total).toFixed(1)}% of the screenshot is the white page`);
if (dark < total / 500) fail(`only ${dark} dark pixels: no text was drawn`);
// A header row is a band of consecutive pixel rows with a long run of header grey.
const bands = [];
for (let y = 0; y < image.height; y++) {
  if (greyPerRow[y] < 40) continue;
  const last = bands.at(-1);
  if (last && last.end === y - 1) last.end = y;
  else bands.push({ start: y, end: y });
}
if (bands.length !== TABLES.length) {
  fail(`${bands.length} header-grey bands in the screenshot (at y ${bands.map((b) => b.start).join(", ")}), expected one per table: ${TABLES.join(", ")}`);
}
ok(
  `screenshot ${WIDTH}x${HEIGHT} (${png}): ${((100 * white) / total).toFixed(0)}% page, ${dark} text pixels, ` +
    `styled header rows of the ${TABLES.length} tables at y ${bands.map((b) => b.start).join(", ")}`,
);

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into its pixels. */
function decodePng(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) fail("the screenshot is not a PNG");
  let width = 0;
  let height = 0;
  let channels = 0;
  const data = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, color, , , interlace] = body.subarray(8, 13);
      channels = { 2: 3, 6: 4 }[color];
      if (depth !== 8 || !channels || interlace !== 0) fail(`unexpected PNG format: depth ${depth}, color type ${color}, interlace ${interlace}`);
    } else if (type === "IDAT") data.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) fail("the screenshot's image data has the wrong size");
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[y * stride + i - channels] : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const upLeft = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] : 0;
      let predicted;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = left; break;
        case 2: predicted = up; break;
        case 3: predicted = (left + up) >> 1; break;
        case 4: {
          const p = left + up - upLeft;
          const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default: fail(`PNG filter type ${filter}`);
      }
      pixels[y * stride + i] = (line[i] + predicted) & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => pixels.subarray((y * width + x) * channels, (y * width + x) * channels + 3) };
}
