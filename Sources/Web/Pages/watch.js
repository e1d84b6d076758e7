// The viewer page: plays /hls/<app>/<stream>/ll.m3u8 (Low-Latency HLS; index.m3u8 when the server makes no
// low-latency rendition) and shows each cue's overlay when the picture reaches
// the frame the cue was stamped on. Cues carry the program date time (PDT) of that frame; the page maps its
// playback position to PDT and applies a cue once the position passes it.
"use strict";
(() => {
  const parts = location.pathname.split("/").filter(Boolean); // ["watch", app, stream]
  const stream = parts.slice(1, 3).map(decodeURIComponent).join("/");
  // A signed page URL (`cuecast sign`) hands its token to the playlists, which carry it on to every segment.
  const token = new URLSearchParams(location.search).get("token");
  const signed = token ? `?token=${encodeURIComponent(token)}` : "";
  const lowLatencyURL = `/hls/${stream}/ll.m3u8${signed}`;
  const transportStreamURL = `/hls/${stream}/index.m3u8${signed}`;
  let playlistURL = lowLatencyURL;

  // The low-latency playlist where the server makes one (hls.js then plays it in low-latency mode, Safari natively;
  // other native players read it as plain HLS), the TS one otherwise.
  async function choosePlaylist() {
    try {
      const response = await fetch(lowLatencyURL, { method: "HEAD", cache: "no-store" });
      playlistURL = response.ok ? lowLatencyURL : transportStreamURL;
    } catch (error) { playlistURL = transportStreamURL; }
  }
  const video = document.getElementById("video");
  const status = document.getElementById("status");
  const $ = (id) => document.getElementById(id);

  // --- Playback position → program date time -------------------------------------------------------------
  // Native HLS (Safari, Chromium) starts currentTime at 0 wherever it joined and has no getStartDate() in
  // Chromium, so the page anchors the media timeline itself: the end of the buffered media is at most the end of
  // the newest listed segment, whose PDT the playlist gives. Sampling buffered *before* fetching the playlist
  // keeps every estimate at or above the true anchor; the smallest one seen is the anchor.
  let anchor = null;       // ms: PDT(t) = anchor + 1000 t
  let hls = null;          // hls.js instance when the browser has no native HLS
  let targetDuration = 2;

  function position() {
    if (hls && hls.playingDate) return hls.playingDate.getTime();
    if (anchor === null || video.readyState < 2) return null;
    return anchor + video.currentTime * 1000;
  }

  async function refreshAnchor() {
    const buffered = video.buffered.length ? video.buffered.end(video.buffered.length - 1) : null;
    let text;
    try {
      const response = await fetch(playlistURL, { cache: "no-store" });
      if (!response.ok) { setStatus(response.status === 404 ? "Waiting for the stream…" : `Playlist: HTTP ${response.status}`); return; }
      text = await response.text();
    } catch (error) { setStatus("Cannot reach the server"); return; }
    const end = playlistEnd(text);
    if (end === null || buffered === null || hls) return;
    const estimate = end - buffered * 1000;
    if (anchor === null || estimate < anchor) anchor = estimate;
  }

  // PDT (ms) at the end of the newest media in a media playlist: its newest segment, and in a low-latency playlist
  // the parts of the segment being written after it (listed after the last segment URI).
  function playlistEnd(text) {
    let pdt = null, end = null, duration = null, partsAfter = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("#EXT-X-TARGETDURATION:")) targetDuration = Number(line.slice(22)) || targetDuration;
      else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice(25));
      else if (line.startsWith("#EXTINF:")) duration = parseFloat(line.slice(8));
      else if (line.startsWith("#EXT-X-PART:")) {
        const match = /DURATION=([0-9.]+)/.exec(line);
        if (match) partsAfter += parseFloat(match[1]);
      } else if (line && !line.startsWith("#") && duration !== null) {
        if (pdt !== null) end = pdt + duration * 1000;
        else if (end !== null) end += duration * 1000;
        pdt = null; duration = null; partsAfter = 0;
      }
    }
    return end === null ? null : end + partsAfter * 1000;
  }

  // A product image that fails to load is left out rather than shown broken.
  $("product-image").addEventListener("error", () => { $("product-image").hidden = true; });

  // --- Overlays -------------------------------------------------------------------------------------------
  const timers = {};
  function show(id, until) {
    $(id).hidden = false;
    $(id).dataset.shownAt = String(Date.now());
    clearTimeout(timers[id]);
    if (until) timers[id] = setTimeout(() => { $(id).hidden = true; }, Math.max(0, until - Date.now()));
  }
  function hide(id) { $(id).hidden = true; clearTimeout(timers[id]); }

  function ends(cue, field) {
    const fromField = field && cue.payload[field] ? Date.parse(cue.payload[field]) : null;
    const fromDuration = cue.duration ? Date.parse(cue.programDateTime) + cue.duration * 1000 : null;
    const candidates = [fromField, fromDuration].filter((x) => x !== null && !Number.isNaN(x));
    return candidates.length ? Math.min(...candidates) : null;
  }

  function apply(cue) {
    const p = cue.payload || {};
    switch (cue.kind) {
      case "product.pin": {
        $("product").dataset.cue = cue.id;
        $("product").dataset.sku = p.sku || "";
        $("product-title").textContent = p.title;
        $("product-price").textContent = `${p.currency} ${p.price}`;
        $("product-image").hidden = !p.image;
        if (p.image) $("product-image").src = p.image;
        $("product-link").hidden = !p.link;
        if (p.link) $("product-link").href = p.link;
        show("product", ends(cue));
        break;
      }
      case "product.unpin":
        if (!p.sku || !$("product").dataset.sku || p.sku === $("product").dataset.sku) hide("product");
        break;
      case "coupon":
        $("coupon").dataset.cue = cue.id;
        $("coupon-title").textContent = p.title;
        $("coupon-code").textContent = p.code;
        $("coupon-discount").textContent = typeof p.discount === "number" ? `${p.discount} off` : p.discount;
        show("coupon", ends(cue, "validUntil"));
        break;
      case "lottery":
        $("lottery").dataset.cue = cue.id;
        $("lottery-title").textContent = p.title;
        show("lottery", ends(cue, "endsAt"));
        break;
      case "announcement":
        $("announcement").textContent = p.text;
        show("announcement", ends(cue) ?? Date.now() + 8000);
        break;
    }
    document.dispatchEvent(new CustomEvent("cuecast:cue", { detail: cue }));
  }

  // Cues wait here until the picture reaches their frame.
  const pending = [];
  function schedule(cue) {
    pending.push(cue);
    pending.sort((a, b) => a.sequence - b.sequence);
  }
  function applyDue() {
    const now = position();
    while (pending.length) {
      const due = Date.parse(pending[0].programDateTime);
      // Without a position yet (no picture), a cue older than a minute is history: apply it right away.
      if (now === null ? due > Date.now() - 60000 : due > now) break;
      apply(pending.shift());
    }
  }

  async function join() {
    // The current state first, so a viewer who joins mid-show sees what is on offer now.
    let after = 0;
    try {
      const response = await fetch(`/api/v1/streams/${stream}/state`, { cache: "no-store" });
      if (response.ok) {
        const state = await response.json();
        for (const cue of [state.pinnedProduct, state.openCoupon, state.runningLottery, state.lastAnnouncement]) {
          if (!cue) continue;
          after = Math.max(after, cue.sequence);
          apply(cue);
        }
      }
    } catch (error) { /* the event feed below retries on its own */ }
    const events = new EventSource(`/api/v1/streams/${stream}/events?after=${after}`);
    events.addEventListener("cue", (message) => schedule(JSON.parse(message.data)));
  }

  function setStatus(text, live) {
    status.textContent = text;
    status.classList.toggle("live", Boolean(live));
  }

  // hls.js wherever Media Source Extensions exist: it plays ll.m3u8 in low-latency mode (parts, blocking reloads),
  // where Chromium's native HLS reads it as plain HLS, seconds further behind. Native HLS where there is no MSE
  // (Safari on older iPhones, which plays LL-HLS natively) or hls.js cannot load. The page names where hls.js
  // comes from (`cuecast serve --hlsjs`: jsDelivr by default, or the server's own copy).
  let player = "none";
  async function play() {
    await choosePlaylist();
    const native = video.canPlayType("application/vnd.apple.mpegurl") !== "";
    const playNatively = () => {
      if (!native) { setStatus("This browser has no HLS playback and hls.js could not load"); return; }
      player = "native";
      video.src = playlistURL;
    };
    if (!(window.MediaSource || window.ManagedMediaSource)) { playNatively(); return; }
    const script = document.createElement("script");
    script.src = document.querySelector('meta[name="cuecast-hlsjs"]').content;
    script.onload = () => {
      if (!window.Hls || !window.Hls.isSupported()) { playNatively(); return; }
      player = `hls.js ${window.Hls.version}`;
      hls = new window.Hls({ lowLatencyMode: true });
      hls.on(window.Hls.Events.ERROR, (_, data) => {
        if (!data.fatal) return;
        setStatus(`Playback error (${data.details}); retrying…`);
        if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else setTimeout(() => hls.loadSource(playlistURL), 3000);
      });
      hls.loadSource(playlistURL);
      hls.attachMedia(video);
    };
    script.onerror = playNatively;
    document.head.appendChild(script);
  }

  video.addEventListener("playing", () => setStatus("LIVE", true));
  video.addEventListener("waiting", () => setStatus("Buffering…"));
  video.addEventListener("emptied", () => { anchor = null; });
  video.addEventListener("error", () => {
    if (hls) return; // hls.js recovers on its own (above)
    setStatus("Stream unavailable; retrying…");
    setTimeout(async () => { await choosePlaylist(); video.src = playlistURL; }, 3000);
  });

  // What tests and embedding pages can read.
  window.cuecast = {
    stream,
    position,
    playlist: () => playlistURL,
    player: () => player,
    latency: () => { const p = position(); return p === null ? null : (Date.now() - p) / 1000; },
    pending: () => pending.length,
  };

  play();
  join();
  setInterval(refreshAnchor, 500);
  setInterval(applyDue, 50);
  video.addEventListener("timeupdate", applyDue);
})();
