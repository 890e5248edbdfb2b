// Pulp web UI: copy buttons, live task states (polled every second) and chunked, resumable uploads.
// Plain JavaScript, no build step and no library. Everything here works on the pages' own markup:
// data-copy buttons, elements with data-task-id, and the #upload-form of a repository page.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf || "";
  const POLL_MS = 1000;
  const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

  function filesize(n) {
    let size = n, unit = 0;
    while (size >= 1024 && unit < UNITS.length - 1) { size /= 1024; unit += 1; }
    return unit === 0 ? `${n} bytes` : `${size.toFixed(1)} ${UNITS[unit]}`;
  }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // -- requests to /ui/api/ -----------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
    get retryable() { return this.status === 0 || this.status >= 500; }
  }

  async function api(method, path, body, raw) {
    const headers = {"X-CSRF-Token": csrf};
    let payload = body;
    if (body !== undefined && !raw) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, {method, headers, body: payload, credentials: "same-origin", cache: "no-store"});
    } catch (err) {
      throw new ApiError("the connection failed", 0);  // a network error: worth retrying
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    if (!response.ok) throw new ApiError(data.error || `the server answered ${response.status}`, response.status);
    return data;
  }

  // -- copy buttons -------------------------------------------------------------------------------------
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");  // plain HTTP on another host: no Clipboard API
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    try {
      await copyText(button.dataset.copy);
      button.textContent = "Copied";
      button.classList.add("copied");
    } catch (err) {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = button.dataset.shown || "Copy"; button.classList.remove("copied"); }, 1500);
  });

  // -- live task states ---------------------------------------------------------------------------------
  function timeElement(iso) {  // as the server writes them: minutes, in UTC
    const element = document.createElement("time");
    element.dateTime = iso;
    element.textContent = `${iso.replace("T", " ").slice(0, 16)} UTC`;
    return element;
  }

  function barElement(bar) {
    const box = document.createElement("div");
    box.className = "bar";
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = bar.label;
    box.appendChild(label);
    const text = document.createElement("span");
    text.className = "bar-text";
    const amount = (n) => (bar.unit === "bytes" ? filesize(n) : String(n));
    if (bar.total) {
      const progress = document.createElement("progress");
      progress.max = bar.total;
      progress.value = bar.done;
      progress.setAttribute("aria-label", bar.label);
      box.appendChild(progress);
      text.textContent = `${amount(bar.done)} of ${amount(bar.total)}`;
    } else {
      text.textContent = amount(bar.done);
    }
    box.appendChild(text);
    return box;
  }

  function showTask(element, task) {
    const state = element.querySelector('[data-field="state"]');
    if (state) {
      state.textContent = task.state;
      state.className = `state state-${task.state}`;
    }
    const progress = element.querySelector('[data-field="progress"]');
    if (progress) progress.replaceChildren(...task.bars.map(barElement));
    const outcome = element.querySelector('[data-field="outcome"]');
    if (outcome) {
      outcome.replaceChildren();
      if (task.error) {
        const span = document.createElement("span");
        span.className = "error-text";
        span.textContent = task.error;
        outcome.appendChild(span);
      } else if (task.summary) {
        outcome.textContent = task.summary;
      }
    }
    for (const name of ["started", "finished"]) {
      const cell = element.querySelector(`[data-field="${name}"]`);
      if (cell && task[name]) cell.replaceChildren(timeElement(task[name]));
    }
    element.dataset.final = task.final ? "true" : "false";
  }

  async function fetchTasks(ids) {
    const query = ids.map((id) => `id=${encodeURIComponent(id)}`).join("&");
    return (await api("GET", `/ui/api/tasks/?${query}`)).tasks;
  }

  // Sections marked data-refresh (a repository's facts and tags) are fetched again when a task ends.
  async function refreshSections() {
    const sections = document.querySelectorAll("section[data-refresh][id]");
    if (!sections.length) return;
    const response = await fetch(window.location.href, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    sections.forEach((section) => {
      const replacement = fresh.getElementById(section.id);
      if (replacement) section.replaceWith(document.adoptNode(replacement));
    });
  }

  async function pollTasks() {
    const open = [...document.querySelectorAll('[data-task-id][data-final="false"]')];
    if (!open.length) return;
    let ended = false;
    try {
      const byId = new Map((await fetchTasks(open.map((el) => el.dataset.taskId))).map((t) => [t.task_id, t]));
      open.forEach((element) => {
        const task = byId.get(element.dataset.taskId);
        if (!task) return;
        showTask(element, task);
        ended = ended || task.final;
      });
      if (ended) await refreshSections();
    } catch (err) {
      // Signed out, or the server is restarting: try again at the next tick.
    }
    setTimeout(pollTasks, POLL_MS);
  }

  async function waitForTask(taskId, onUpdate) {
    for (;;) {
      try {
        const [task] = await fetchTasks([taskId]);
        if (task) {
          onUpdate(task);
          if (task.final) return task;
        }
      } catch (err) {
        if (err.status && err.status < 500) throw err;
      }
      await sleep(POLL_MS);
    }
  }

  // -- uploads ------------------------------------------------------------------------------------------
  const MAX_RETRIES = 5;

  function setupUpload(form) {
    const input = form.querySelector("#upload-file");
    const drop = form.querySelector(".drop");
    const tagInput = form.querySelector("#upload-tag");
    const button = form.querySelector("#upload-button");
    const box = form.querySelector(".upload-progress");
    const bar = form.querySelector("#upload-progress");
    const resume = form.querySelector("#upload-resume");
    const status = form.querySelector("#upload-status");
    const repoId = form.dataset.repoId;
    let busy = false;

    const say = (text) => { status.textContent = text; };
    const show = (done, total) => {
      bar.max = total || 1;
      bar.value = done;
      say(`Uploaded ${filesize(done)} of ${filesize(total)} (${total ? Math.floor((100 * done) / total) : 100}%)`);
    };

    ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) input.files = event.dataTransfer.files;
    });

    // The upload id is kept per file, so choosing the same file after a reload resumes it too.
    const keyOf = (file) => `pulp-ui-upload:${repoId}:${file.name}:${file.size}:${file.lastModified}`;

    async function serverSize(uploadId) {
      return (await api("GET", `/ui/api/uploads/${uploadId}/`)).size;
    }

    async function startOrResume(file) {
      const key = keyOf(file);
      const known = window.localStorage.getItem(key);
      if (known) {
        try {
          return {uploadId: known, offset: await serverSize(known)};
        } catch (err) {
          window.localStorage.removeItem(key);  // gone (imported, or removed): start again
        }
      }
      const {upload_id: uploadId} = await api("POST", "/ui/api/uploads/");
      window.localStorage.setItem(key, uploadId);
      return {uploadId, offset: 0};
    }

    async function send(file, uploadId, offset) {
      const chunk = Math.max(1, parseInt(form.dataset.chunkSize, 10) || 4194304);
      let failures = 0;
      while (offset < file.size) {
        const end = Math.min(offset + chunk, file.size);
        try {
          await api("PUT", `/ui/api/uploads/${uploadId}/${offset}/`, file.slice(offset, end), true);
          offset = end;
          failures = 0;
          show(offset, file.size);
        } catch (err) {
          if (!err.retryable) throw err;
          failures += 1;
          if (failures > MAX_RETRIES) throw err;
          say(`Connection lost (${err.message}); resuming in ${failures} s…`);
          await sleep(1000 * failures);
          try {
            offset = await serverSize(uploadId);  // continue from what the server has
          } catch (sizeErr) {
            if (!sizeErr.retryable) throw sizeErr;
          }
        }
      }
    }

    async function run() {
      const file = input.files[0];
      if (!file) { say("Choose a file first."); return; }
      const tag = tagInput.value.trim();
      if (tag && !tagInput.checkValidity()) { say("That tag is not valid: letters, digits, _ . - (128 at most)."); return; }
      busy = true;
      button.disabled = true;
      resume.hidden = true;
      box.hidden = false;
      try {
        const {uploadId, offset} = await startOrResume(file);
        show(offset, file.size);
        await send(file, uploadId, offset);
        say("Uploaded; importing…");
        const {task_id: taskId} = await api("POST", `/ui/api/repositories/${encodeURIComponent(repoId)}/import_upload/`,
          {upload_id: uploadId, tag: tag || null});
        window.localStorage.removeItem(keyOf(file));
        const task = await waitForTask(taskId, (t) => say(`Importing: ${t.state}…`));
        api("DELETE", `/ui/api/uploads/${uploadId}/`).catch(() => {});
        if (task.state === "finished") {
          say(`Imported. ${task.summary || ""}`.trim());
          form.reset();
          await refreshSections();
        } else {
          say(`The import ended ${task.state}: ${task.error || "see the task"}`);
        }
      } catch (err) {
        say(`Upload stopped: ${err.message}.${err.retryable ? " Resume continues where it stopped." : ""}`);
        resume.hidden = !err.retryable;
      } finally {
        busy = false;
        button.disabled = false;
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!busy) run();
    });
    resume.addEventListener("click", () => { if (!busy) run(); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("upload-form");
    if (form) setupUpload(form);
    setTimeout(pollTasks, POLL_MS);
  });
})();
