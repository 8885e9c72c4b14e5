/* Open-a-file page, browser side: check an upload before it is read or sent, and show its progress.
 *
 * Why here and not in a callback: dcc.Upload reads the whole file into the page and Dash posts it
 * in one request, so a file over the server's limit used to cost minutes of reading and sending
 * before the server could say no, and nothing on the page moved meanwhile.
 *  - A file that is too big or of the wrong kind is stopped before dcc.Upload sees it (a capture
 *    listener runs before React's), with one line saying why; the view shown before stays.
 *    The limit and the accepted suffixes come from the server's settings (data-* attributes of
 *    #upload-limit, written by app/pages/open_file.py).
 *  - A file that passes is left to dcc.Upload; while Dash posts it, that one request goes through
 *    XMLHttpRequest instead of fetch, because only XHR reports upload progress.
 * Stages are also pushed to window.rnnvizUploadLog (the browser test reads them).
 */
(function () {
  "use strict";
  const UPLOAD = "upload";
  const LIMIT = "upload-limit";
  const STATUS = "upload-status";
  const SEND = "upload-send";
  const SEND_TEXT = "upload-send-text";
  const BIG_BODY = 64 * 1024; // a callback request this large carries the file
  let pending = null; // {name, size} of the accepted file until its request is sent

  window.rnnvizUploadLog = [];
  const log = (stage) => window.rnnvizUploadLog.push(stage);
  const mb = (n) => (n / 1048576).toFixed(1) + " MB";

  function settings() {
    const el = document.getElementById(LIMIT);
    if (!el) return null;
    return {
      maxBytes: Number(el.dataset.maxBytes),
      suffixes: (el.dataset.suffixes || "").split(",").filter(Boolean),
    };
  }

  function say(message) {
    // Through Dash when it can, so the status it holds matches what is shown.
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(STATUS, { children: message });
    } else {
      const el = document.getElementById(STATUS);
      if (el) el.innerText = message;
    }
  }

  function showSending(done, total, text) {
    const bar = document.getElementById(SEND);
    const label = document.getElementById(SEND_TEXT);
    if (!bar || !label) return;
    const visible = text !== null;
    bar.style.display = visible ? "" : "none";
    label.style.display = visible ? "" : "none";
    if (total > 0) {
      bar.max = total;
      bar.value = done;
    } else {
      bar.removeAttribute("value"); // indeterminate
    }
    label.innerText = text || "";
  }

  /* Why `file` cannot be uploaded, or null. */
  function refusal(file, cfg) {
    const dot = file.name.lastIndexOf(".");
    const suffix = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    if (cfg.suffixes.length && !cfg.suffixes.includes(suffix)) {
      return file.name + ": not a graph file; upload a " + cfg.suffixes.join(", ") + " (a zipped SavedModel)";
    }
    if (file.size > cfg.maxBytes) {
      return (file.name + ": " + mb(file.size) + " is over the " + mb(cfg.maxBytes) +
        " upload limit of this server; upload a smaller file or run `rnnviz report FILE` locally");
    }
    return null;
  }

  function inUpload(target) {
    const zone = document.getElementById(UPLOAD);
    return zone && target instanceof Node && zone.contains(target);
  }

  function check(event, files) {
    const cfg = settings();
    if (!cfg || !files || !files.length) return;
    const file = files[0];
    const why = refusal(file, cfg);
    if (why) {
      event.stopImmediatePropagation();
      event.preventDefault();
      if (event.target && event.target.value !== undefined) event.target.value = "";
      pending = null;
      showSending(0, 0, null);
      say(why);
      log("refused: " + why);
      return;
    }
    pending = { name: file.name, size: file.size };
    say("");
    showSending(0, 0, "reading " + file.name + " (" + mb(file.size) + ")...");
    log("reading " + file.name);
  }

  window.addEventListener("change", (e) => {
    if (inUpload(e.target) && e.target.files) check(e, e.target.files);
  }, true);
  window.addEventListener("drop", (e) => {
    if (inUpload(e.target) && e.dataTransfer) check(e, e.dataTransfer.files);
  }, true);

  /* The upload's callback request, sent with XHR so its progress can be shown. */
  function sendWithProgress(url, init, file) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init.method || "POST", url);
      const headers = new Headers(init.headers || {});
      headers.forEach((value, key) => xhr.setRequestHeader(key, value));
      xhr.withCredentials = init.credentials === "include";
      xhr.upload.onprogress = (e) => {
        const total = e.lengthComputable ? e.total : 0;
        const pct = total ? Math.round((100 * e.loaded) / total) : 0;
        showSending(e.loaded, total, "sending " + file.name + ": " + mb(e.loaded) +
          (total ? " of " + mb(total) + " (" + pct + "%)" : ""));
      };
      xhr.upload.onload = () => {
        showSending(1, 1, "sent " + file.name + "; the server is reading it...");
        log("sent " + file.name);
      };
      xhr.onload = () => {
        showSending(0, 0, null);
        const out = new Headers();
        xhr.getAllResponseHeaders().trim().split(/\r?\n/).forEach((line) => {
          const at = line.indexOf(":");
          if (at > 0) out.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
        });
        resolve(new Response(xhr.status === 204 ? null : xhr.responseText,
          { status: xhr.status, statusText: xhr.statusText, headers: out }));
      };
      xhr.onerror = () => {
        showSending(0, 0, null);
        say(file.name + ": the upload was cut off; try again");
        reject(new TypeError("upload failed"));
      };
      log("sending " + file.name);
      xhr.send(init.body);
    });
  }

  const fetchBefore = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input && input.url;
    const body = init && init.body;
    if (pending && url && url.includes("_dash-update-component") &&
        typeof body === "string" && body.length > BIG_BODY) {
      const file = pending;
      pending = null;
      return sendWithProgress(url, init, file);
    }
    return fetchBefore(input, init);
  };
})();
