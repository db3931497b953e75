// The side-by-side page: two configurations of one query, through /v1/search as the pasted token.
"use strict";

// Highlight tags the server puts around matches; the text between is escaped here.
const PRE = "\u0001", POST = "\u0002";

function configFields(side) {
  const box = document.getElementById(`config-${side}`);
  box.append(document.getElementById("config-template").content.cloneNode(true));
  box.querySelector("legend").textContent = `Configuration ${side.toUpperCase()}`;
  const custom = box.querySelector(".custom");
  custom.addEventListener("change", () => { box.querySelector(".fusion").hidden = !custom.checked; });
  if (side === "b") { custom.checked = true; box.querySelector(".fusion").hidden = false; box.querySelector(".method").value = "linear"; }
  return box;
}

function requestBody(box, query, size) {
  const body = { query, size, explain: true, highlight: { fields: ["title", "body"], pre_tag: PRE, post_tag: POST } };
  const profile = box.querySelector(".profile").value;
  if (profile) body.profile = profile;
  if (box.querySelector(".custom").checked) {
    body.fusion = {
      method: box.querySelector(".method").value,
      normalization: box.querySelector(".normalization").value,
      weights: { lexical: Number(box.querySelector(".w-lexical").value), vector: Number(box.querySelector(".w-vector").value) },
      rank_constant: Number(box.querySelector(".rank-constant").value),
    };
  }
  body.rerank = { enabled: box.querySelector(".rerank").checked };
  return body;
}

function marked(text) {
  // Escape everything the server sent, then turn its highlight markers into <mark>.
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML.replaceAll(PRE, "<mark>").replaceAll(POST, "</mark>");
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function explainTable(explain) {
  const table = document.createElement("table");
  table.className = "explain";
  for (const [leg, part] of Object.entries(explain)) {
    if (typeof part !== "object" || part === null || !("raw_score" in part)) continue;
    const row = table.insertRow();
    row.dataset.leg = leg;
    row.append(cell(leg), cell(`raw ${part.raw_score.toFixed(4)}`),
      cell(`norm ${part.normalized_score === null ? "-" : part.normalized_score.toFixed(4)}`), cell(`rank ${part.rank}`));
  }
  const fused = table.insertRow();
  fused.append(cell("fused"), cell(`score ${explain.fused_score.toFixed(4)}`), cell(""), cell(`rank ${explain.fused_rank}`));
  if (explain.rerank) {
    const rerank = table.insertRow();
    rerank.append(cell("rerank"), cell(`score ${explain.rerank.score.toFixed(4)}`), cell(`model ${explain.rerank.model_score.toFixed(4)}`), cell(`rank ${explain.rerank.rank}`));
  }
  return table;
}

function render(side, hits, other) {
  const list = document.querySelector(`#results-${side} ol`);
  list.replaceChildren();
  const where = new Map(other.map((hit, i) => [hit.id, i]));
  hits.forEach((hit, i) => {
    const item = document.createElement("li");
    item.dataset.id = hit.id;
    const title = document.createElement("span");
    title.className = "title";
    title.innerHTML = marked((hit.highlight && hit.highlight.title && hit.highlight.title[0]) || hit.title);
    const doc = document.createElement("span");
    doc.className = "doc";
    doc.textContent = ` ${hit.id}`;
    const move = document.createElement("span");
    move.className = "move";
    if (!where.has(hit.id)) { move.textContent = "new"; move.classList.add("new"); }
    else if (where.get(hit.id) > i) { move.textContent = `↑${where.get(hit.id) - i}`; move.classList.add("up"); }
    else if (where.get(hit.id) < i) { move.textContent = `↓${i - where.get(hit.id)}`; move.classList.add("down"); }
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    snippet.innerHTML = marked((hit.highlight && hit.highlight.body && hit.highlight.body[0]) || hit.snippet);
    item.append(title, doc, move, snippet, explainTable(hit.explain));
    list.append(item);
  });
}

async function call(path, token, body) {
  const response = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: { Authorization: `Bearer ${token.replace(/^Bearer\s+/i, "").trim()}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ? answer.error.message : `HTTP ${response.status}`);
  return answer;
}

async function loadProfiles(token, boxes) {
  try {
    const listed = await call("/v1/profiles", token);
    for (const box of boxes) {
      const select = box.querySelector(".profile");
      for (const profile of listed.profiles) {
        if ([...select.options].some((o) => o.value === profile.name)) continue;
        select.append(new Option(profile.name, profile.name));
      }
    }
  } catch (error) { /* profiles are optional: the server default still runs */ }
}

document.addEventListener("DOMContentLoaded", () => {
  const boxes = ["a", "b"].map(configFields);
  const token = document.getElementById("token");
  token.addEventListener("change", () => loadProfiles(token.value, boxes));
  document.getElementById("search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("status");
    status.textContent = "";
    const query = document.getElementById("query").value;
    const size = Number(document.getElementById("size").value) || 10;
    try {
      const [a, b] = await Promise.all(boxes.map((box) => call("/v1/search", token.value, requestBody(box, query, size))));
      render("a", a.hits, b.hits);
      render("b", b.hits, a.hits);
      document.body.dataset.searched = "true";
    } catch (error) {
      status.textContent = error.message;
    }
  });
});
