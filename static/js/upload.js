// Upload videos straight from the browser to S3. Small files: one presigned POST. Big files:
// an S3 multipart upload with several parts in flight, retried parts, and resume after a
// reload (the upload id is kept in localStorage; the server lists the parts S3 already has).
// The server signs and verifies; the video bytes never pass through it.
(() => {
  "use strict";
  const root = document.querySelector("[data-upload]");
  if (!root) return;

  const cfg = {
    startUrl: root.dataset.startUrl,
    assetTemplate: root.dataset.assetUrl,
    maxBytes: Number(root.dataset.maxBytes),
    maxLabel: root.dataset.maxLabel,
    types: JSON.parse(root.dataset.types),
    csrf: root.dataset.csrf,
    loginPath: new URL(root.dataset.loginUrl || "/login", window.location.href).pathname,
  };
  const EXTENSIONS = {
    mp4: "video/mp4", m4v: "video/x-m4v", mov: "video/quicktime", webm: "video/webm",
    mkv: "video/x-matroska", avi: "video/x-msvideo", mpg: "video/mpeg", mpeg: "video/mpeg",
    ts: "video/mp2t", "3gp": "video/3gpp", flv: "video/x-flv", ogv: "video/ogg",
  };
  const PARALLEL_FILES = 2;
  const PARALLEL_PARTS = 4;
  const PART_RETRIES = 5;
  const URL_BATCH = 8;
  const URL_MAX_AGE_MS = 10 * 60 * 1000;
  const STORE = "truss-upload:";

  const input = document.getElementById("video-files");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const resumeNotice = document.getElementById("resume-notice");
  const waiting = [];
  let running = 0;

  class Cancelled extends Error {}

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const assetUrl = (aid, action) =>
    cfg.assetTemplate.replace("__AID__", encodeURIComponent(aid)) + (action ? "/" + action : "");

  function formatBytes(n) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
  }

  function videoType(file) {
    if (cfg.types[file.type]) return file.type;
    if (file.type && file.type !== "application/octet-stream") return null;
    const ext = file.name.includes(".") ? file.name.split(".").pop().toLowerCase() : "";
    return EXTENSIONS[ext] || null;
  }

  // The video's length if this browser can read it (null otherwise): the server refuses a
  // video over the length or monthly-minutes quota before any byte is sent (the worker checks
  // again after upload, so a wrong or missing answer only moves the refusal later).
  function videoDuration(file) {
    return new Promise((resolve) => {
      const video = document.createElement("video");
      const url = URL.createObjectURL(file);
      let timer = 0;
      const done = (seconds) => {
        clearTimeout(timer);
        video.removeAttribute("src");
        URL.revokeObjectURL(url);
        resolve(Number.isFinite(seconds) && seconds > 0 ? seconds : null);
      };
      timer = setTimeout(() => done(null), 3000);
      video.preload = "metadata";
      video.addEventListener("loadedmetadata", () => done(video.duration), { once: true });
      video.addEventListener("error", () => done(null), { once: true });
      video.src = url;
    });
  }

  function precheck(file) {
    const type = videoType(file);
    if (!type) {
      return { error: `“${file.name}” isn't a video file Truss can use. Choose an MP4, MOV, WebM, MKV, AVI or MPEG file.` };
    }
    if (file.size === 0) return { error: `“${file.name}” is empty. Choose the video file itself.` };
    if (file.size > cfg.maxBytes) {
      return { error: `“${file.name}” is ${formatBytes(file.size)}; the limit is ${cfg.maxLabel}. Trim or compress it first.` };
    }
    return { type };
  }

  // An error from the server's side of the upload. `final`: sending it again won't help.
  function apiError(message, status, final) {
    const error = new Error(message);
    error.status = status;
    error.final = final;
    return error;
  }

  async function api(url, { method = "GET", body } = {}) {
    let response;
    try {
      response = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": cfg.csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw apiError("Truss couldn't be reached; check your connection", 0, false);
    }
    // A signed-out request is sent to the sign-in page (fetch follows the redirect).
    if (response.redirected && new URL(response.url).pathname === cfg.loginPath) {
      throw apiError("You were signed out, so the upload stopped. Sign in again in this tab", 401, true);
    }
    const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
    const data = isJson ? await response.json() : {};
    if (!response.ok || !isJson) {
      const message = data.error || `Truss answered with an error (${response.status}); try again in a moment`;
      const refused = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
      throw apiError(message, response.status, refused);
    }
    return data;
  }

  function storeKey(file) {
    return `${STORE}${file.name}:${file.size}:${file.lastModified}`;
  }

  function remembered(file) {
    try { return JSON.parse(localStorage.getItem(storeKey(file)) || "null"); } catch { return null; }
  }

  class Task {
    constructor(file, type) {
      this.file = file;
      this.type = type;
      this.xhrs = new Set();
      this.cancelled = false;
      this.assetId = null;
      this.doneBytes = 0;
      this.inflight = new Map();
      this.sample = { t: performance.now(), bytes: 0, rate: 0 };
      this.buildRow();
    }

    buildRow() {
      const li = document.createElement("li");
      li.className = "upload-item card";
      const name = document.createElement("p");
      name.className = "upload-name";
      const strong = document.createElement("strong");
      strong.textContent = this.file.name;
      const size = document.createElement("span");
      size.className = "muted";
      size.textContent = ` ${formatBytes(this.file.size)}`;
      name.append(strong, size);
      this.bar = document.createElement("progress");
      this.bar.max = 100;
      this.bar.value = 0;
      this.bar.setAttribute("aria-label", `Upload progress of ${this.file.name}`);
      this.percent = document.createElement("span");
      this.percent.className = "upload-percent";
      this.percent.textContent = "0%";
      this.speed = document.createElement("span");
      this.speed.className = "upload-speed muted";
      const meter = document.createElement("p");
      meter.className = "upload-meter";
      meter.append(this.bar, this.percent, this.speed);
      this.message = document.createElement("p");
      this.message.className = "upload-message";
      this.message.setAttribute("role", "status");
      this.message.textContent = "Waiting for the files before it…";
      this.cancelButton = document.createElement("button");
      this.cancelButton.type = "button";
      this.cancelButton.className = "secondary";
      this.cancelButton.textContent = `Cancel upload of ${this.file.name}`;
      this.cancelButton.addEventListener("click", () => this.cancel());
      li.append(name, meter, this.message, this.cancelButton);
      this.row = li;
      list.append(li);
    }

    say(text, kind = "") {
      this.message.textContent = text;
      this.message.className = `upload-message ${kind}`;
    }

    show(loaded) {
      const pct = this.file.size ? Math.min(100, Math.floor((loaded / this.file.size) * 100)) : 100;
      this.bar.value = pct;
      this.percent.textContent = `${pct}%`;
      const now = performance.now();
      const dt = (now - this.sample.t) / 1000;
      if (dt >= 0.8) {
        const rate = Math.max(0, (loaded - this.sample.bytes) / dt);
        this.sample = { t: now, bytes: loaded, rate: this.sample.rate ? 0.6 * this.sample.rate + 0.4 * rate : rate };
        this.speed.textContent = `${formatBytes(Math.round(this.sample.rate))}/s`;
      }
    }

    partProgress(n, loaded) {
      this.inflight.set(n, loaded);
      let sum = this.doneBytes;
      for (const value of this.inflight.values()) sum += value;
      this.show(sum);
    }

    partDone(n, size) {
      this.inflight.delete(n);
      this.doneBytes += size;
      this.show(this.doneBytes);
    }

    send(method, url, body, onProgress) {
      return new Promise((resolve, reject) => {
        if (this.cancelled) { reject(new Cancelled()); return; }
        const xhr = new XMLHttpRequest();
        this.xhrs.add(xhr);
        const finish = (fn, value) => { this.xhrs.delete(xhr); fn(value); };
        xhr.open(method, url);
        xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total);
        xhr.onload = () => (xhr.status >= 200 && xhr.status < 300
          ? finish(resolve, xhr)
          : finish(reject, new Error(`storage refused it (HTTP ${xhr.status})`)));
        xhr.onerror = () => finish(reject, new Error("the connection dropped"));
        xhr.onabort = () => finish(reject, new Cancelled());
        xhr.send(body);
      });
    }

    async run() {
      this.say("Starting…");
      const saved = remembered(this.file);
      let result;
      if (saved && saved.mode === "multipart") {
        result = await this.resume(saved);
      }
      if (!result) {
        const duration = await videoDuration(this.file);
        const plan = await api(cfg.startUrl, {
          method: "POST",
          body: { name: this.file.name, size: this.file.size, type: this.type, duration },
        });
        this.assetId = plan.asset_id;
        result = plan.mode === "post" ? await this.post(plan) : await this.multipart(plan, new Set());
      }
      this.finish(result);
    }

    async post(plan) {
      this.say("Uploading…");
      const form = new FormData();
      for (const [name, value] of Object.entries(plan.post.fields)) form.append(name, value);
      form.append("file", this.file);
      for (let attempt = 0; ; attempt += 1) {
        try {
          await this.send("POST", plan.post.url, form, (loaded, total) =>
            this.show(total ? (loaded / total) * this.file.size : loaded));
          break;
        } catch (error) {
          if (error instanceof Cancelled || attempt >= 2) throw error;
          this.say(`The upload stopped (${error.message}); trying again…`);
          await sleep(1500 * (attempt + 1));
        }
      }
      this.show(this.file.size);
      this.say("Checking the file…");
      return api(assetUrl(plan.asset_id, "confirm"), { method: "POST", body: {} });
    }

    async resume(saved) {
      let state;
      try {
        state = await api(`${assetUrl(saved.asset_id, "upload")}?upload_id=${encodeURIComponent(saved.upload_id)}`);
      } catch (error) {
        if (![400, 404].includes(error.status)) throw error;
        localStorage.removeItem(storeKey(this.file));  // finished, cancelled or deleted: start over
        return null;
      }
      this.assetId = state.asset_id;
      const done = new Set(state.parts.map((part) => part.number));
      this.doneBytes = state.parts.reduce((sum, part) => sum + part.size, 0);
      this.show(this.doneBytes);
      this.say(`Resuming: ${done.size} of ${state.part_count} parts were already sent.`);
      return this.multipart(state, done);
    }

    async multipart(plan, done) {
      localStorage.setItem(storeKey(this.file), JSON.stringify({
        mode: "multipart", asset_id: plan.asset_id, upload_id: plan.upload_id, name: this.file.name,
      }));
      if (!done.size) this.say("Uploading in parts…");
      const queue = [];
      for (let n = 1; n <= plan.part_count; n += 1) if (!done.has(n)) queue.push(n);
      const urls = new Map();
      const urlFor = async (n, fresh) => {
        const cached = urls.get(n);
        if (fresh || !cached || performance.now() - cached.at > URL_MAX_AGE_MS) {
          const batch = [n, ...queue.slice(0, URL_BATCH - 1)];
          const data = await api(assetUrl(plan.asset_id, "parts"), {
            method: "POST", body: { upload_id: plan.upload_id, parts: batch },
          });
          const at = performance.now();
          for (const [k, url] of Object.entries(data.urls)) urls.set(Number(k), { url, at });
        }
        return urls.get(n).url;
      };
      const sendPart = async (n) => {
        const start = (n - 1) * plan.part_bytes;
        const blob = this.file.slice(start, Math.min(start + plan.part_bytes, this.file.size));
        for (let attempt = 0; ; attempt += 1) {
          try {
            const url = await urlFor(n, attempt > 0);
            await this.send("PUT", url, blob, (loaded) => this.partProgress(n, loaded));
            this.partDone(n, blob.size);
            return;
          } catch (error) {
            if (error instanceof Cancelled || error.final || attempt >= PART_RETRIES) throw error;
            this.partProgress(n, 0);
            this.say(`Part ${n} didn't arrive (${error.message}); sending it again…`);
            await sleep(1000 * 2 ** attempt);
          }
        }
      };
      const worker = async () => {
        while (queue.length && !this.cancelled) await sendPart(queue.shift());
      };
      try {
        await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
      } catch (error) {
        this.abortAll();
        throw error;
      }
      this.say("Joining the parts and checking the file…");
      return api(assetUrl(plan.asset_id, "complete"), { method: "POST", body: { upload_id: plan.upload_id } });
    }

    finish(asset) {
      localStorage.removeItem(storeKey(this.file));
      this.cancelButton.remove();
      this.speed.textContent = "";
      if (asset.status === "failed") {
        this.say(`Upload failed: ${asset.error}`, "field-error");
        return;
      }
      this.show(this.file.size);
      this.message.textContent = "";
      this.message.append(`Uploaded (${asset.status}). `);
      const link = document.createElement("a");
      link.href = asset.url;
      link.textContent = `Open “${asset.title}”`;
      this.message.append(link);
      this.row.dataset.status = asset.status;
    }

    fail(error) {
      this.speed.textContent = "";
      this.cancelButton.remove();
      const again = remembered(this.file)
        ? " Choose the same file again to continue where it stopped."
        : " Choose the file again to retry.";
      const what = error.message.replace(/\.$/, "");
      this.say(`Upload failed: ${what}.${again}`, "field-error");
      this.row.dataset.status = "failed";
    }

    abortAll() {
      for (const xhr of [...this.xhrs]) xhr.abort();
    }

    async cancel() {
      this.cancelled = true;
      this.abortAll();
      this.cancelButton.remove();
      this.speed.textContent = "";
      localStorage.removeItem(storeKey(this.file));
      this.say("Cancelled. Nothing of this file was kept.");
      this.row.dataset.status = "cancelled";
      if (this.assetId) {
        try { await api(assetUrl(this.assetId, "cancel"), { method: "POST", body: {} }); } catch { /* already gone */ }
      }
    }
  }

  function refuse(file, message) {
    const li = document.createElement("li");
    li.className = "upload-item card";
    li.dataset.status = "refused";
    const p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.textContent = `${message} Nothing was sent.`;
    li.append(p);
    list.append(li);
  }

  async function pump() {
    while (running < PARALLEL_FILES && waiting.length) {
      const task = waiting.shift();
      if (task.cancelled) continue;
      running += 1;
      task.run()
        .catch((error) => { if (!(error instanceof Cancelled) && !task.cancelled) task.fail(error); })
        .finally(() => { running -= 1; pump(); });
    }
  }

  function addFiles(files) {
    for (const file of files) {
      const check = precheck(file);
      if (check.error) refuse(file, check.error);
      else waiting.push(new Task(file, check.type));
    }
    pump();
  }

  function showResumable() {
    const names = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key.startsWith(STORE)) continue;
      try { names.push(JSON.parse(localStorage.getItem(key)).name); } catch { /* ignore */ }
    }
    if (!names.length) return;
    resumeNotice.textContent = `Unfinished upload${names.length > 1 ? "s" : ""}: ${names.join(", ")}. Choose the same file${names.length > 1 ? "s" : ""} again to continue where ${names.length > 1 ? "they" : "it"} stopped.`;
    resumeNotice.hidden = false;
  }

  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles([...event.dataTransfer.files]);
  });
  window.addEventListener("beforeunload", (event) => {
    if (running || waiting.length) event.preventDefault();
  });
  showResumable();
})();
