// The operator console: live streams from the stats feed, with a preview, sparklines, warnings, cue forms and
// the cue log; below them the streams with a key that are not live, whose push targets can be set up before the
// show. The admin token lives in localStorage and goes out only in the Authorization header.
"use strict";
(() => {
  const tokenKey = "cuecast.adminToken";
  const history = 120; // sparkline points, one a second
  const cards = new Map(); // "app/stream" -> {element, bitrate: [], fps: [], events}
  const offline = new Map(); // "app/stream" -> element, for streams with a key that are not live
  let offlineTimer = null;
  const $ = (id) => document.getElementById(id);
  let feed = null;

  function token() { return localStorage.getItem(tokenKey); }

  function showGate(message) {
    $("app").hidden = true;
    $("gate").hidden = false;
    $("gate-error").textContent = message || "";
    $("token").focus();
  }

  $("gate").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(tokenKey, $("token").value.trim());
    start();
  });
  $("sign-out").addEventListener("click", () => {
    localStorage.removeItem(tokenKey);
    if (feed) feed.abort();
    clearInterval(offlineTimer);
    offlineTimer = null;
    showGate();
  });

  async function api(path, options = {}) {
    const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.status === 401) {
      localStorage.removeItem(tokenKey);
      clearInterval(offlineTimer);
      offlineTimer = null;
      if (feed) feed.abort();
      showGate("The server refused that token.");
      throw new Error("unauthorized");
    }
    return response;
  }

  // EventSource cannot send an Authorization header, so the admin feed is read with fetch and parsed here.
  async function follow() {
    feed = new AbortController();
    const response = await api("/api/v1/stats/live", { signal: feed.signal });
    if (!response.ok) throw new Error(`stats feed: HTTP ${response.status}`);
    $("app").hidden = false;
    $("gate").hidden = true;
    $("feed-state").textContent = "";
    refreshOffline();
    if (!offlineTimer) offlineTimer = setInterval(refreshOffline, 3000);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let split;
      while ((split = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (name === "stats" && data) render(JSON.parse(data));
      }
    }
  }

  async function start() {
    if (!token()) { showGate(); return; }
    for (;;) {
      try {
        await follow();
      } catch (error) {
        if (error.message === "unauthorized" || error.name === "AbortError") return;
        $("feed-state").textContent = `feed lost (${error.message}); reconnecting…`;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  // --- Rendering ------------------------------------------------------------------------------------------
  function render(snapshot) {
    const s = snapshot.server;
    $("server").textContent = `${s.version} · up ${duration(s.uptimeSeconds)} · ${s.liveStreams} live · ` +
      `RTMP ${s.rtmpConnections} · HTTP ${s.httpConnections ?? "–"} · CPU ${(s.cpuSeconds ?? 0).toFixed(1)} s · ` +
      `RSS ${s.residentBytes ? (s.residentBytes / 1048576).toFixed(0) + " MB" : "–"}`;
    const live = new Set();
    for (const stream of snapshot.streams) {
      live.add(stream.stream);
      update(card(stream.stream), stream);
    }
    for (const [name, entry] of cards) {
      if (!live.has(name)) {
        entry.events.close();
        entry.element.remove();
        cards.delete(name);
        refreshOffline();
      }
    }
    for (const name of offline.keys()) if (live.has(name)) removeOffline(name);
    const empty = document.querySelector("#streams .empty");
    if (empty) empty.hidden = cards.size > 0;
  }

  // --- Streams that are not live: their push targets, set up before the show ------------------------------
  let refreshing = false;
  async function refreshOffline() {
    if (refreshing) return; // the timer comes back in 3 s
    refreshing = true;
    try { await refreshOfflineOnce(); } finally { refreshing = false; }
  }

  async function refreshOfflineOnce() {
    let keys, pushes, notes;
    try {
      const [keyAnswer, pushAnswer] = await Promise.all([api("/api/v1/keys"), api("/api/v1/pushes")]);
      if (!keyAnswer.ok || !pushAnswer.ok) return;
      keys = (await keyAnswer.json()).keys || [];
      const targets = await pushAnswer.json();
      pushes = targets.pushes || [];
      notes = targets.notes || {};
    } catch (error) { return; }
    // Every stream with a key, and every stream with targets: one without a key cannot publish (a typo in its
    // name, or the key is still to be made), and shows the server's note saying so rather than hiding its targets.
    const keyed = new Set(keys.filter((key) => key.active).map((key) => key.stream));
    const names = new Set([...keyed, ...pushes.map((target) => target.stream)].filter((name) => !cards.has(name)));
    for (const name of offline.keys()) if (!names.has(name)) removeOffline(name);
    for (const name of [...names].sort()) {
      const element = offline.get(name) || offlineCard(name);
      const note = element.querySelector(".keyless");
      note.hidden = !notes[name];
      note.textContent = notes[name] || "";
      renderPushes(name, element, pushes.filter((target) => target.stream === name));
    }
    $("offline").hidden = offline.size === 0;
  }

  function offlineCard(name) {
    const element = $("offline-template").content.firstElementChild.cloneNode(true);
    element.dataset.stream = name;
    element.querySelector(".name").textContent = name;
    // The same push form as a live card's, taken from its template.
    const form = $("stream-template").content.querySelector('form[data-kind="push"]').cloneNode(true);
    element.querySelector(".actions").prepend(form);
    form.addEventListener("submit", (event) => { event.preventDefault(); submit(name, form, element); });
    offline.set(name, element);
    $("offline").appendChild(element);
    return element;
  }

  function removeOffline(name) {
    offline.get(name)?.remove();
    offline.delete(name);
    $("offline").hidden = offline.size === 0;
  }

  function card(name) {
    if (cards.has(name)) return cards.get(name);
    const element = $("stream-template").content.firstElementChild.cloneNode(true);
    element.dataset.stream = name;
    element.querySelector(".name").textContent = name;
    const link = element.querySelector(".watch-link");
    link.href = `/watch/${name}`;
    const video = element.querySelector("video");
    if (video.canPlayType("application/vnd.apple.mpegurl")) video.src = `/hls/${name}/index.m3u8`;
    else video.replaceWith(Object.assign(document.createElement("div"), { className: "muted", textContent: "Preview needs native HLS; open the viewer page." }));
    for (const form of element.querySelectorAll("form")) form.addEventListener("submit", (event) => { event.preventDefault(); submit(name, form, element); });
    element.querySelector(".unpin").addEventListener("click", () => {
      const sku = element.querySelector('form[data-kind="product.pin"] [name=sku]').value;
      post(name, { kind: "product.unpin", payload: sku ? { sku } : {} }, element);
    });
    const entry = { element, bitrate: [], fps: [], events: cueLog(name, element) };
    cards.set(name, entry);
    $("streams").appendChild(element);
    return entry;
  }

  function update(entry, stream) {
    const e = entry.element;
    const rates = stream.statistics.rates || {};
    const bits = (rates.videoBitsPerSecond1s || 0) + (rates.audioBitsPerSecond1s || 0);
    const fps = rates.frameRate || 0;
    push(entry.bitrate, bits / 1000);
    push(entry.fps, fps);
    const v = stream.video;
    e.querySelector(".details").textContent = [
      stream.codecs.join(", "), v && v.width ? `${v.width}×${v.height}` : null, stream.encoder, `from ${stream.remoteAddress}`,
    ].filter(Boolean).join(" · ");
    const hls = stream.hls || {};
    e.querySelector(".state").textContent = hls.state || "starting";
    set(e, "bitrate", (bits / 1000).toFixed(0));
    set(e, "fps", fps ? fps.toFixed(1) : "–");
    set(e, "gop", stream.statistics.keyframeIntervalMean ? `${stream.statistics.keyframeIntervalMean.toFixed(1)} / ${stream.statistics.keyframeIntervalMax.toFixed(1)}` : "–");
    set(e, "viewers", hls.viewers ?? 0);
    set(e, "segments", hls.mediaSequence ?? "–");
    set(e, "listing", hls.listingDelayP99 != null ? (hls.listingDelayP99 * 1000).toFixed(0) : "–");
    set(e, "uptime", duration(stream.uptimeSeconds));
    const cues = stream.cues || {};
    set(e, "cues", Object.values(cues).reduce((a, b) => a + b, 0));
    e.querySelector('[data-figure="cues"]').title = Object.entries(cues).map(([k, n]) => `${k}: ${n}`).join("\n");
    sparkline(e.querySelector(".sparkline.bitrate polyline"), entry.bitrate);
    sparkline(e.querySelector(".sparkline.fps polyline"), entry.fps);
    const warnings = e.querySelector(".warnings");
    warnings.replaceChildren(...stream.warnings.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
    renderPushes(stream.stream, e, stream.pushes || []);
  }

  // --- Push targets (the URL comes back with its key masked) --------------------------------------------------
  function renderPushes(name, element, pushes) {
    const list = element.querySelector(".pushes");
    list.replaceChildren(...pushes.map((target) => {
      const item = document.createElement("li");
      item.dataset.push = target.id;
      item.dataset.state = target.state;
      const rate = target.bitsPerSecond != null ? ` · ${(target.bitsPerSecond / 1000).toFixed(0)} kbit/s` : "";
      // Times in UTC, to the second, as the API and the CLI give them, so the two can be laid side by side.
      const at = target.lastErrorAt ? ` at ${utc(target.lastErrorAt)}` : "";
      const error = target.lastError ? ` · last error${at}: ${target.lastError}` : "";
      const retry = target.retryAt ? ` · next try at ${utc(target.retryAt)}` : "";
      const text = Object.assign(document.createElement("span"), {
        textContent: `${target.name} → ${target.url} · ${target.state}${rate} · ${target.reconnects} reconnect attempts${error}${retry}`,
      });
      const toggle = Object.assign(document.createElement("button"), {
        type: "button", className: "secondary", textContent: target.enabled ? "Switch off" : "Switch on",
      });
      toggle.addEventListener("click", () => pushRequest(name, element, `/${target.id}`, "PATCH", { enabled: !target.enabled }));
      item.append(text, " ", toggle);
      return item;
    }));
  }

  function utc(time) {
    return new Date(time).toISOString().replace(/\.\d+Z$/, "Z");
  }

  async function pushRequest(name, element, suffix, method, body) {
    const result = element.querySelector(".result");
    try {
      const response = await api(`/api/v1/streams/${name}/pushes${suffix}`, {
        method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) {
        result.className = "result error";
        result.textContent = `${response.status}: ${answer.error?.message ?? JSON.stringify(answer)}`;
        return;
      }
      result.className = "result muted";
      result.textContent = `push ${answer.name} → ${answer.url}: ${answer.state}`;
      // A live card's list follows the stats feed; a stream that is not live has none, so fetch it now.
      if (offline.get(name) === element) refreshOffline();
    } catch (error) {
      if (error.message !== "unauthorized") { result.className = "result error"; result.textContent = error.message; }
    }
  }

  function push(series, value) {
    series.push(value);
    if (series.length > history) series.shift();
  }
  function set(element, figure, value) { element.querySelector(`[data-figure="${figure}"]`).textContent = value; }

  function sparkline(polyline, series) {
    const max = Math.max(1, ...series);
    const step = 120 / (history - 1);
    const offset = history - series.length;
    polyline.setAttribute("points", series.map((y, i) => `${((offset + i) * step).toFixed(1)},${(38 - (y / max) * 36).toFixed(1)}`).join(" "));
    polyline.dataset.points = String(series.length);
  }

  function duration(seconds) {
    const s = Math.floor(seconds || 0);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
  }

  // --- Cues -----------------------------------------------------------------------------------------------
  function submit(name, form, element) {
    const f = Object.fromEntries(new FormData(form).entries());
    if (form.dataset.kind === "push") {
      const body = { url: f.url, enabled: true };
      if (f.name) body.name = f.name;
      pushRequest(name, element, "", "POST", body);
      form.reset();
      return;
    }
    const minutesFromNow = (m) => new Date(Date.now() + Number(m) * 60000).toISOString();
    let cue;
    switch (form.dataset.kind) {
      case "product.pin":
        cue = { kind: "product.pin", payload: { sku: f.sku, title: f.title, price: Number(f.price), currency: f.currency } };
        if (f.image) cue.payload.image = f.image;
        break;
      case "coupon":
        cue = { kind: "coupon", payload: { code: f.code, title: f.title, discount: f.discount, validUntil: minutesFromNow(f.minutes) } };
        break;
      case "lottery":
        cue = { kind: "lottery", payload: { id: f.id, title: f.title, endsAt: minutesFromNow(f.minutes) } };
        break;
    }
    post(name, cue, element);
  }

  async function post(name, cue, element) {
    const result = element.querySelector(".result");
    result.className = "result muted";
    result.textContent = "placing…";
    try {
      const response = await api(`/api/v1/streams/${name}/cues`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(cue),
      });
      const body = await response.json();
      if (!response.ok) {
        result.className = "result error";
        result.textContent = `${response.status}: ${body.error?.message ?? body.message ?? JSON.stringify(body)}`;
        return;
      }
      result.textContent = `${body.kind} ${body.id} on the frame at ${body.programDateTime} (PTS ${body.pts})`;
      result.dataset.cue = body.id;
    } catch (error) {
      if (error.message !== "unauthorized") { result.className = "result error"; result.textContent = error.message; }
    }
  }

  // The public cue feed replays the log, then streams new cues; the newest 30 are shown.
  function cueLog(name, element) {
    const body = element.querySelector(".cuelog tbody");
    const events = new EventSource(`/api/v1/streams/${name}/events`);
    events.addEventListener("cue", (message) => {
      const cue = JSON.parse(message.data);
      const row = document.createElement("tr");
      row.dataset.cue = cue.id;
      const what = cue.payload.title || cue.payload.text || cue.payload.sku || cue.payload.code || "";
      for (const text of [cue.sequence, cue.programDateTime.slice(11, 23), cue.pts, cue.kind, what, cue.source]) {
        row.appendChild(Object.assign(document.createElement("td"), { textContent: String(text) }));
      }
      body.prepend(row);
      while (body.rows.length > 30) body.deleteRow(-1);
    });
    return events;
  }

  start();
})();
