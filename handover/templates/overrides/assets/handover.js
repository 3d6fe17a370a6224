/* handover: opens a sealed handover page and its files in the browser.
 * Uses only the browser's WebCrypto; loads nothing from anywhere else.
 * The envelope format is described in SECURITY.md and handover/sealing.py.
 * The page runs under a strict Content-Security-Policy: no inline script, no eval. */
(function () {
  "use strict";

  /* What the open page does, sealed or not: ticks that persist, and every date worded for
   * the reader's own day (the page was built on another one). */
  function isoToday() {
    var now = new Date();
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }
  function daysFrom(today, iso) {
    return Math.round((Date.parse(iso + "T00:00:00Z") - Date.parse(today + "T00:00:00Z")) / 86400000);
  }
  function load(name) {
    try { return JSON.parse(localStorage.getItem(name) || "{}") || {}; } catch (error) { return {}; }
  }
  function keep(name, value) {
    try { localStorage.setItem(name, JSON.stringify(value)); } catch (error) { /* private mode */ }
  }
  var downloadsName = "handover:downloads:" + location.pathname;
  var receiptName = "handover:receipt:" + location.pathname;

  function enhance(root) {
    var language = root.getAttribute("lang") || document.documentElement.lang || "en";
    var today = isoToday();
    /* Ticks are stored by each step's id (from its wording or its `id:`), never by position:
     * a step added above cannot inherit a tick, and a reworded step starts unticked. */
    var storeName = "handover:steps:" + location.pathname;
    var ticked = load(storeName);
    root.querySelectorAll("input[type=checkbox][data-step]").forEach(function (box) {
      if (box.defaultChecked) return;  /* done by the firm: stays ticked */
      var id = box.getAttribute("data-step");
      box.disabled = false;
      box.checked = ticked[id] === true;
      box.addEventListener("change", function () {
        if (box.checked) ticked[id] = true; else delete ticked[id];
        keep(storeName, ticked);
      });
    });
    var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(language, { numeric: "auto" }) : null;
    if (relative) {
      root.querySelectorAll(".handover-days[data-day]").forEach(function (el) {
        el.textContent = relative.format(daysFrom(today, el.getAttribute("data-day")), "day");
      });
    }
    root.querySelectorAll("[data-due]").forEach(function (deadline) {
      if (deadline.getAttribute("data-due") < today && !deadline.classList.contains("handover-overdue")) {
        deadline.classList.add("handover-overdue");
        var label = document.createElement("strong");
        label.textContent = " · " + deadline.getAttribute("data-overdue");
        deadline.appendChild(label);
      }
    });
    /* Wording in the future tense turns to the past once its day has gone by. */
    root.querySelectorAll("[data-after][data-then]").forEach(function (el) {
      if (el.getAttribute("data-after") < today) el.textContent = el.getAttribute("data-then");
    });
    /* A document past its last day: no link, whatever day the page was built. */
    root.querySelectorAll("tr[data-until]").forEach(function (row) {
      if (row.getAttribute("data-until") >= today) return;
      var until = row.querySelector(".handover-until");
      if (until) { var br = until.previousElementSibling; if (br && br.tagName === "BR") br.remove(); until.remove(); }
      var cell = row.querySelector(".handover-get");
      if (cell) {
        var gone = document.createElement("span");
        gone.className = "handover-removed";
        gone.textContent = row.getAttribute("data-expired");
        cell.replaceChildren(gone);
      }
      row.removeAttribute("data-until");
    });
    var sent = load(receiptName).sent;
    /* Next steps: the first three still open on the reader's day. */
    var shown = 0;
    root.querySelectorAll(".handover-next__item").forEach(function (item) {
      var kind = item.getAttribute("data-next-kind");
      var past = item.getAttribute("data-day") < today;
      var gone = (kind === "download" && past) || (kind === "receipt" && sent);
      item.hidden = gone || shown >= 3;
      if (!item.hidden) shown += 1;
    });
    var none = root.querySelector(".handover-next__none");
    if (none) none.hidden = shown > 0;
    showReceipt(root, language, sent);
    root.querySelectorAll("[data-handover-receipt]").forEach(function (link) {
      link.addEventListener("click", function () {
        var files = Object.keys(load(downloadsName));
        var body = link.getAttribute("data-body");
        if (files.length) body += "\n\n" + link.getAttribute("data-files-label") + "\n" + files.map(function (f) { return "- " + f; }).join("\n");
        link.href = link.href.replace(/&body=[^&]*$/, "") + "&body=" + encodeURIComponent(body);
        var record = { sent: isoToday() };
        keep(receiptName, record);
        showReceipt(root, language, record.sent);
      });
    });
    root.querySelectorAll("[data-handover-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function showReceipt(root, language, sent) {
    var note = root.querySelector("[data-handover-receipt-sent]");
    if (!note || !sent) return;
    var day = new Date(sent + "T12:00:00");
    var worded = window.Intl ? new Intl.DateTimeFormat(language, { dateStyle: "long" }).format(day) : sent;
    note.textContent = note.getAttribute("data-handover-receipt-sent").replace("{date}", worded);
    note.hidden = false;
  }

  document.addEventListener("handover:opened", function () {
    enhance(document.querySelector("[data-handover-page]") || document);
  });

  var source = document.getElementById("handover-envelope");
  var lock = document.querySelector("[data-handover-lock]");
  if (!source || !lock) {
    var plain = document.querySelector("[data-handover-page]");
    if (plain) enhance(plain);
    return;
  }

  var envelope = JSON.parse(source.textContent);
  var subtle = window.crypto && window.crypto.subtle;
  var encoder = new TextEncoder();
  var storageName = "handover:" + envelope.slug;
  var form = lock.querySelector("[data-handover-form]");

  function bytes(base64) {
    return Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
  }
  function base64(data) {
    var text = "";
    data.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text);
  }
  function aad() {
    var parts = ["handover", "v" + envelope.v].concat(Array.prototype.slice.call(arguments));
    return encoder.encode(parts.join("/"));
  }
  function say(name) {
    lock.querySelectorAll("[data-handover-message]").forEach(function (el) {
      el.hidden = el.getAttribute("data-handover-message") !== name;
    });
  }
  function wording(name) {
    var el = document.querySelector('[data-handover-messages] [data-handover-message="' + name + '"]');
    return el ? el.textContent : name;
  }

  function linkKey() {
    var match = /(?:^#|&)k=([A-Za-z0-9_-]{43})(?:&|$)/.exec(location.hash);
    if (!match) return null;
    return bytes(match[1].replace(/-/g, "+").replace(/_/g, "/") + "=");
  }
  function normalise(passphrase) {
    return passphrase.trim().toLowerCase().split(/[\s,.;:_-]+/).filter(Boolean).join(" ");
  }

  async function stretch(passphrase) {
    var base = await subtle.importKey("raw", encoder.encode(normalise(passphrase)), "PBKDF2", false, ["deriveBits"]);
    var bits = await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: bytes(envelope.kdf.salt), iterations: envelope.kdf.iterations },
      base, 256);
    return new Uint8Array(bits);
  }

  async function keyEncryptionKey(passphrase) {
    var raw;
    if (envelope.mode === "link") {
      raw = linkKey();
    } else if (envelope.mode === "passphrase") {
      raw = await stretch(passphrase);
    } else {
      var ikm = new Uint8Array(64);
      ikm.set(linkKey(), 0);
      ikm.set(await stretch(passphrase), 32);
      var base = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
      raw = new Uint8Array(await subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: bytes(envelope.kdf.salt),
          info: encoder.encode("handover/v1/link+passphrase") }, base, 256));
    }
    return subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
  }

  async function unwrapContentKey(kek) {
    var raw = await subtle.decrypt(
      { name: "AES-GCM", iv: bytes(envelope.wrapped.nonce), additionalData: aad("wrap", envelope.slug, envelope.mode) },
      kek, bytes(envelope.wrapped.ct));
    return new Uint8Array(raw);
  }

  function Damaged() {}

  async function openPage(contentKey) {
    var key = await subtle.importKey("raw", contentKey, "AES-GCM", false, ["decrypt"]);
    var plain;
    try {
      plain = await subtle.decrypt(
        { name: "AES-GCM", iv: bytes(envelope.page.nonce), additionalData: aad("page", envelope.slug) },
        key, bytes(envelope.page.ct));
    } catch (error) {
      throw new Damaged();
    }
    var payload = JSON.parse(new TextDecoder().decode(plain));
    var holder = document.createElement("div");
    holder.innerHTML = payload.html;
    lock.replaceWith.apply(lock, Array.prototype.slice.call(holder.childNodes));
    bindDownloads(key, payload.files);
    keepKeyInAddress();
    document.dispatchEvent(new CustomEvent("handover:opened", { detail: { slug: envelope.slug } }));
    var target = location.hash.length > 1 && !/k=/.test(location.hash) && document.getElementById(location.hash.slice(1));
    if (target) { target.scrollIntoView(); }
    /* Focus the page's heading, so keyboard and screen-reader users start at the top of the
     * content, and say in the live region (which outlives the form) that it opened. */
    var heading = document.querySelector("[data-handover-page] h1");
    if (heading) heading.focus({ preventScroll: Boolean(target) });
    var announce = document.querySelector("[data-handover-announce]");
    if (announce) announce.textContent = wording("opened");
  }

  async function unlock(passphrase, remember) {
    say("working");
    if (form) form.setAttribute("aria-busy", "true");
    var contentKey;
    try {
      contentKey = await unwrapContentKey(await keyEncryptionKey(passphrase));
    } catch (error) {
      say(envelope.mode === "link" ? "bad-link" : "wrong");
      if (form) { form.removeAttribute("aria-busy"); form.querySelector("input").select(); }
      return;
    }
    try {
      await openPage(contentKey);
    } catch (error) {
      say("damaged");
      if (form) form.hidden = true;
      return;
    }
    if (remember) sessionStorage.setItem(storageName, base64(contentKey));
  }

  /* In-page links (contents, "back to top") scroll without touching the address: the
   * link key lives in the fragment, and a reload must still find it there. */
  function keepKeyInAddress() {
    document.addEventListener("click", function (event) {
      var anchor = event.target.closest && event.target.closest('a[href^="#"]');
      if (!anchor || !/k=/.test(location.hash)) return;
      var target = document.getElementById(decodeURIComponent(anchor.getAttribute("href").slice(1)));
      event.preventDefault();
      if (target) target.scrollIntoView();
    });
  }

  /* Files: fetched encrypted, decrypted chunk by chunk, checked against the SHA-256 the
   * (authenticated) page gives, saved under their real name. Zero bytes after the last
   * chunk are padding to the file's size class. A large file comes in parts (a host's
   * file-size limit): one stream cut in pieces, read in order, a record may straddle two. */
  var MAGIC = "HOF2";

  async function decryptFile(key, file) {
    var pending = [], pendingLength = 0, parts = [], index = 0, chunkSize = null;
    var count = Math.max(1, Math.ceil(file.size / file.chunk));

    function take(length) {
      var out = new Uint8Array(length), offset = 0;
      while (offset < length) {
        var head = pending[0], need = length - offset;
        if (head.length <= need) { out.set(head, offset); offset += head.length; pending.shift(); }
        else { out.set(head.subarray(0, need), offset); pending[0] = head.subarray(need); offset += need; }
      }
      pendingLength -= length;
      return out;
    }
    function recordLength(i) {
      var plain = i < count - 1 ? chunkSize : file.size - chunkSize * (count - 1);
      return 12 + plain + 16;
    }
    async function drain() {
      if (chunkSize === null && pendingLength >= 8) {
        var header = take(8);
        if (String.fromCharCode.apply(null, header.subarray(0, 4)) !== MAGIC) throw new Damaged();
        chunkSize = new DataView(header.buffer).getUint32(4);
        if (chunkSize !== file.chunk) throw new Damaged();
      }
      while (chunkSize !== null && index < count && pendingLength >= recordLength(index)) {
        var record = take(recordLength(index));
        var last = index === count - 1 ? 1 : 0;
        var plain = await subtle.decrypt(
          { name: "AES-GCM", iv: record.subarray(0, 12), additionalData: aad("file", envelope.slug, file.id, index, last) },
          key, record.subarray(12));
        parts.push(new Uint8Array(plain));
        index += 1;
      }
    }
    /* Only what a record still lacks is held besides the decrypted chunks; a part that is
     * missing or short fails here or in the next record's check. Parts after the last
     * record hold only padding and are not fetched. */
    async function read(url) {
      var response = await fetch(url, { credentials: "same-origin", referrerPolicy: "no-referrer" });
      if (!response.ok) throw new Damaged();
      var reader = response.body.getReader();
      for (;;) {
        var step = await reader.read();
        if (step.done) return;
        pending.push(step.value);
        pendingLength += step.value.length;
        await drain();
        if (index === count) { pending = []; await reader.cancel(); return; }
      }
    }
    for (var p = 0; p < file.parts.length && index < count; p += 1) await read(file.parts[p]);
    if (index !== count) throw new Damaged();
    var blob = new Blob(parts, { type: file.type });
    parts = [];  /* the Blob holds the bytes now */
    var digest = new Uint8Array(await subtle.digest("SHA-256", await blob.arrayBuffer()));
    var hex = Array.prototype.map.call(digest, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    if (hex !== file.sha256) throw new Damaged();
    return blob;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function bindDownloads(key, files) {
    document.querySelectorAll("a[download]").forEach(function (anchor) {
      var file = files[anchor.getAttribute("href")];
      if (!file) return;
      var label = anchor.textContent;
      anchor.addEventListener("click", async function (event) {
        event.preventDefault();
        if (anchor.getAttribute("aria-busy")) return;
        anchor.setAttribute("aria-busy", "true");
        anchor.textContent = wording("file-working");
        var problem = anchor.parentNode.querySelector(".handover-alert");
        if (problem) problem.remove();
        try {
          save(await decryptFile(key, file), file.name);
          var done = load(downloadsName);
          done[file.name] = true;
          keep(downloadsName, done);
        } catch (error) {
          var note = document.createElement("p");
          note.className = "handover-alert";
          note.setAttribute("role", "alert");
          note.textContent = wording("file-damaged");
          anchor.insertAdjacentElement("afterend", note);
        } finally {
          anchor.textContent = label;
          anchor.removeAttribute("aria-busy");
        }
      });
    });
  }

  async function start() {
    if (!subtle) { say("unsupported"); return; }
    var saved = sessionStorage.getItem(storageName);
    if (saved) {
      try { await openPage(bytes(saved)); return; } catch (error) { sessionStorage.removeItem(storageName); }
    }
    if (envelope.mode !== "passphrase" && !linkKey()) { say("bad-link"); return; }
    if (envelope.mode === "link") { await unlock(null, false); return; }
    form.hidden = false;
    var reveal = form.elements.reveal;
    if (reveal) reveal.addEventListener("change", function () {
      form.elements.passphrase.type = reveal.checked ? "text" : "password";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      unlock(form.elements.passphrase.value, form.elements.remember.checked);
    });
    form.elements.passphrase.focus();
  }

  start();
})();
