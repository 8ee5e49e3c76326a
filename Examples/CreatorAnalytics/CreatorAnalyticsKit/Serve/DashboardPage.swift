/// The live dashboard served at `GET /`: one self-contained page (HTML, CSS and script; no
/// build step, nothing fetched from elsewhere) that subscribes to the feed and draws:
/// the top posts by views in the current minute, views per minute (for one creator with
/// `?creator=<id>`, else all), trending posts (the ten most viewed of the last ten minutes),
/// sessions active this minute, closed sessions and their length distribution with the
/// latest minute's session metrics, and the platform's counters for the current minute (admins).
///
/// It takes its token from `?token=` (kept for the tab in sessionStorage) or asks for one,
/// reconnects with exponential backoff, and shows the connection's state.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Runnel · creator analytics</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
  body { margin: 0; padding: 16px 24px; }
  header { display: flex; align-items: baseline; gap: 16px; }
  h1 { font-size: 20px; margin: 0 0 12px 0; }
  #state { font-size: 13px; padding: 2px 8px; border-radius: 10px; background: #ddd; }
  #state.live { background: #c8f0d0; } #state.down { background: #f6d0cc; }
  #notice { font-size: 13px; color: #a33; min-height: 1em; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
  .card { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  .card h2 { font-size: 14px; margin: 0 0 8px 0; color: #556; }
  .big { font-size: 28px; font-weight: 600; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  td { padding: 3px 4px; border-bottom: 1px solid #eef; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
  canvas { width: 100%; height: 160px; }
  form { display: none; gap: 8px; margin: 8px 0; } form.show { display: flex; }
  input { flex: 1; font: inherit; padding: 4px 8px; }
</style>
</head>
<body>
<header><h1>Creator analytics · live</h1><span id="state">connecting</span></header>
<div id="notice"></div>
<form id="token-form"><input id="token-input" placeholder="Paste an access token"><button>Connect</button></form>
<div class="grid">
  <div class="card"><h2>Views this minute</h2><div class="big" id="total-views">0</div>
    <div><span id="active-posts">0</span> posts viewed · <span id="final-windows">0</span> minutes closed</div></div>
  <div class="card"><h2>Top posts this minute</h2><table id="top-posts"><tbody></tbody></table></div>
  <div class="card"><h2 id="chart-title">Views per minute</h2><canvas id="chart" width="600" height="160"></canvas></div>
  <div class="card"><h2>Trending · last 10 minutes</h2><div id="trending-window"></div><table id="trending"><tbody></tbody></table></div>
  <div class="card"><h2>Sessions</h2><div class="big"><span id="active-sessions">0</span> active</div>
    <div><span id="sessions">0</span> closed · length of closed sessions:</div>
    <table id="session-lengths"><tbody></tbody></table>
    <div id="session-minute"></div></div>
  <div class="card" id="platform-card"><h2>Platform this minute</h2><div class="big" id="platform-events">0</div>
    <div>events · <span id="platform-active-users">0</span> active users</div>
    <table id="platform-counters"><tbody></tbody></table></div>
</div>
<script>
"use strict";
const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("runnel-token", params.get("token"));
const creator = params.get("creator");
const views = new Map();        // window_start -> Map(post_id -> {views, final})
const sessionBuckets = [["under 1 min", 60], ["1–5 min", 300], ["5–15 min", 900], ["15–30 min", 1800], ["30 min and more", Infinity]];
const sessionCounts = sessionBuckets.map(() => 0);
const platformRows = [["Post views", "post_views"], ["Posts published", "posts_published"], ["Registrations", "users_registered"],
  ["Logins", "logins"], ["Comments", "comments"], ["Subscriptions", "subscriptions"], ["Payments", "payments"]];
let platform = null;            // the latest minute's platform_minute record
let trending = null;            // the latest trending_posts record
let sessionMinute = null;       // the latest session_minute record
let sessions = 0, backoff = 500, socket = null;

function setState(text, cls) { const s = document.getElementById("state"); s.textContent = text; s.className = cls || ""; }
function notice(text) { document.getElementById("notice").textContent = text || ""; }

function connect() {
  const token = sessionStorage.getItem("runnel-token");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/feed" + (token ? "?token=" + encodeURIComponent(token) : "");
  setState("connecting");
  socket = new WebSocket(url);
  socket.onopen = () => {
    backoff = 500; setState("live", "live"); notice("");
    const topics = creator ? ["creator:" + creator, "trending"] : ["post_views", "sessions", "platform", "trending"];
    socket.send(JSON.stringify({ op: "subscribe", topics }));
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => {
    const wait = backoff; backoff = Math.min(backoff * 2, 10000);
    setState("reconnecting in " + Math.round(wait / 1000 * 10) / 10 + " s", "down");
    if (!token) document.getElementById("token-form").classList.add("show");
    setTimeout(connect, wait);
  };
}

function handle(message) {
  if (message.op === "error") { notice(message.error + (message.topic ? " (" + message.topic + ")" : "") + (message.message ? ": " + message.message : "")); return; }
  if (message.op === "snapshot") { for (const item of message.data) record(message.topic, item); render(); return; }
  if (message.op) return;
  record(message.topic, message.data);
  render();
}

function record(topic, data) {
  if (data.type === "post_views") {
    if (creator && data.creator_id !== creator) return;
    const start = Date.parse(data.window_start);
    if (!views.has(start)) views.set(start, new Map());
    views.get(start).set(data.post_id, { views: data.views, final: data.final });
    for (const key of [...views.keys()].sort((a, b) => a - b).slice(0, -60)) views.delete(key);
  } else if (data.type === "platform_minute") {
    if (!platform || Date.parse(data.window_start) >= Date.parse(platform.window_start)) platform = data;
  } else if (data.type === "trending_posts") {
    if (!trending || Date.parse(data.window_end) >= Date.parse(trending.window_end)) trending = data;
  } else if (data.type === "session_minute") {
    if (!sessionMinute || Date.parse(data.window_start) >= Date.parse(sessionMinute.window_start)) sessionMinute = data;
  } else if (data.type === "session" && data.final !== false) {
    sessions += 1;
    const index = sessionBuckets.findIndex(([, limit]) => data.duration_s < limit);
    sessionCounts[index] += 1;
  }
}

function render() {
  const starts = [...views.keys()].sort((a, b) => a - b);
  const latest = starts.length ? views.get(starts[starts.length - 1]) : new Map();
  const posts = [...latest.entries()].sort((a, b) => b[1].views - a[1].views);
  document.getElementById("total-views").textContent = posts.reduce((sum, [, v]) => sum + v.views, 0);
  document.getElementById("active-posts").textContent = posts.length;
  document.getElementById("final-windows").textContent = starts.filter((s) => [...views.get(s).values()].every((v) => v.final)).length;
  const body = document.querySelector("#top-posts tbody");
  body.replaceChildren(...posts.slice(0, 10).map(([post, v]) => {
    const row = document.createElement("tr"); row.dataset.post = post;
    row.innerHTML = "<td></td><td class=n></td>"; row.cells[0].textContent = post; row.cells[1].textContent = v.views;
    return row;
  }));
  document.getElementById("trending-window").textContent = trending
    ? trending.window_start.slice(11, 16) + "–" + trending.window_end.slice(11, 16) + " UTC" : "no full window yet";
  document.querySelector("#trending tbody").replaceChildren(...(trending ? trending.posts : []).map((p) => {
    const row = document.createElement("tr"); row.dataset.post = p.post_id;
    row.innerHTML = "<td class=n></td><td></td><td class=n></td>";
    row.cells[0].textContent = p.rank; row.cells[1].textContent = p.post_id; row.cells[2].textContent = p.views; return row;
  }));
  document.getElementById("session-minute").textContent = sessionMinute
    ? "closed " + sessionMinute.window_start.slice(11, 16) + ": " + sessionMinute.sessions + " sessions · average "
      + Math.round(sessionMinute.avg_duration_seconds) + " s · p50 " + Math.round(sessionMinute.p50_duration_seconds)
      + " s · p90 " + Math.round(sessionMinute.p90_duration_seconds) + " s · bounce rate "
      + Math.round(sessionMinute.bounce_rate * 100) + " %" : "";
  document.getElementById("sessions").textContent = sessions;
  document.querySelector("#session-lengths tbody").replaceChildren(...sessionBuckets.map(([label], i) => {
    const row = document.createElement("tr"); row.innerHTML = "<td></td><td class=n></td>";
    row.cells[0].textContent = label; row.cells[1].textContent = sessionCounts[i]; return row;
  }));
  document.getElementById("platform-card").style.display = creator ? "none" : "";
  document.getElementById("platform-events").textContent = platform ? platform.events : 0;
  document.getElementById("active-sessions").textContent = platform ? platform.active_sessions : 0;
  document.getElementById("platform-active-users").textContent = platform ? platform.active_users : 0;
  const revenue = platform ? Object.entries(platform.revenue).map(([c, a]) => a.toFixed(2) + " " + c).join(", ") : "";
  document.querySelector("#platform-counters tbody").replaceChildren(...platformRows.concat([["Revenue", null]]).map(([label, field]) => {
    const row = document.createElement("tr"); row.innerHTML = "<td></td><td class=n></td>";
    row.cells[0].textContent = label; row.cells[1].textContent = field ? (platform ? platform[field] : 0) : (revenue || "0"); return row;
  }));
  document.getElementById("chart-title").textContent = "Views per minute" + (creator ? " · " + creator : "");
  drawChart(starts.slice(-30).map((s) => [...views.get(s).values()].reduce((sum, v) => sum + v.views, 0)));
}

function drawChart(values) {
  const canvas = document.getElementById("chart"), g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...values), w = canvas.width / 30;
  g.fillStyle = "#5b7be0";
  values.forEach((v, i) => { const h = (canvas.height - 10) * v / max; g.fillRect(i * w + 2, canvas.height - h, w - 4, h); });
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("runnel-token", document.getElementById("token-input").value.trim());
  document.getElementById("token-form").classList.remove("show");
  if (socket) socket.close(); else connect();
});
render();
connect();
</script>
</body>
</html>
"""#
}
