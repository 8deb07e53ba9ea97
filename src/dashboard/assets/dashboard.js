// Live counters: one server-sent event stream per page, polling when the stream keeps failing.
"use strict";
(function () {
  const root = document.querySelector('meta[name="dashboard-root"]').content;
  // A login link (`dev` prints one) carries its token in the fragment, which no server sees:
  // drop it from the address bar and history, then post it as if pasted.
  const login = document.querySelector('form[action$="/session"]');
  if (login && location.hash.startsWith("#token=")) {
    const token = decodeURIComponent(location.hash.slice("#token=".length));
    history.replaceState(null, "", location.pathname + location.search);
    login.querySelector("textarea[name=token]").value = token;
    login.submit();
  }
  function apply(values) {
    for (const el of document.querySelectorAll("[data-live]")) {
      const v = values[el.dataset.live];
      if (v !== undefined && el.textContent !== v) el.textContent = v;
    }
    document.documentElement.dataset.liveAt = values.at;
  }
  let timer;
  function poll() {
    if (timer) return;
    document.documentElement.dataset.live = "polling";
    timer = setInterval(async () => {
      const r = await fetch(root + "/snapshot.json", { credentials: "same-origin" }).catch(() => undefined);
      if (r && r.ok) apply(await r.json());
    }, 2000);
  }
  if (document.querySelector("[data-live]")) {
    if ("EventSource" in window) {
      const es = new EventSource(root + "/events");
      let failures = 0;
      es.onopen = () => {
        failures = 0;
        document.documentElement.dataset.live = "sse";
      };
      es.onmessage = (e) => apply(JSON.parse(e.data));
      es.onerror = () => {
        if (++failures >= 3) {
          es.close();
          poll();
        }
      };
    } else poll();
  }
  document.addEventListener("submit", (e) => {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  for (const all of document.querySelectorAll("input.select-all")) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[form="dl-selection"]')) box.checked = all.checked;
    });
  }
})();
