// semsearch's search page: plain JavaScript, no build step, nothing fetched from outside the server.
// Text from the server is only ever set as textContent (never as HTML), so a story titled
// "<img src=x onerror=...>" shows as those characters. The HTTP contract is the server's /openapi.json.
"use strict";

(() => {
  const STORIES = 20; // stories per search
  const RELATED = 5; // stories per "more like this"
  const CONTEXT = 1; // paragraphs before and after a passage when its context opens
  const SVG = "http://www.w3.org/2000/svg";
  const CHART_WIDTH = 672; // px: the chart's widest (42rem, as app.css caps it)
  const CHART_MIN_WIDTH = 240; // px: narrower columns scale the drawing down
  const MONTH = /^\d{4}-\d{2}$/; // a month of the date:month facet
  const MONTH_LABEL_WIDTH = 72; // px a "2024-06" label needs with room around it

  const TEXT = {
    en: {
      title: "semsearch — search the news",
      query: "Search",
      queryHint: "What are you looking for?",
      search: "Search",
      mode: "Mode",
      hybrid: "Hybrid",
      dense: "Meaning (dense)",
      lexical: "Words (lexical)",
      since: "From",
      until: "To",
      outlet: "Outlet",
      allOutlets: "All outlets",
      outletCount: "{value} ({count})",
      sort: "Sort by",
      relevance: "Relevance",
      newest: "Date (newest first)",
      coverage: "Coverage over time",
      results: "Results",
      searching: "Searching…",
      found: "{count} stories · {ms} ms",
      nothing: "No stories match.",
      emptyQuery: "Type what you are looking for first.",
      score: "score {score}",
      undated: "no date",
      context: "Context",
      hideContext: "Hide context",
      contextOf: "Context of this passage",
      similar: "More like this",
      hideSimilar: "Hide related stories",
      related: "Related stories",
      noRelated: "No related stories.",
      loading: "Loading…",
      offline: "Cannot reach the server; is semsearch serve running?",
      httpError: "The server answered {status} without saying why.",
      chartLabel: "Stories per month for this search",
      chartSummary: "{stories} dated stories over {months} months; most in {peak} ({count}).",
      chartNone: "None of these stories has a date.",
      chartUndated: "{count} more without a date.",
      bar: "{month}: {count}",
      barAction: "{month}: {count} stories; show only this month",
      switchTo: "中文",
      switchHint: "切换到中文",
    },
    zh: {
      title: "semsearch — 新闻检索",
      query: "搜索",
      queryHint: "输入要找的内容",
      search: "搜索",
      mode: "方式",
      hybrid: "混合",
      dense: "语义（稠密）",
      lexical: "词语（词法）",
      since: "起始日期",
      until: "截止日期",
      outlet: "媒体",
      allOutlets: "全部媒体",
      outletCount: "{value}（{count}）",
      sort: "排序",
      relevance: "相关度",
      newest: "日期（最新在前）",
      coverage: "报道随时间分布",
      results: "结果",
      searching: "正在搜索…",
      found: "共 {count} 篇报道 · {ms} 毫秒",
      nothing: "没有匹配的报道。",
      emptyQuery: "请先输入要找的内容。",
      score: "得分 {score}",
      undated: "无日期",
      context: "上下文",
      hideContext: "收起上下文",
      contextOf: "这段文字的上下文",
      similar: "相似报道",
      hideSimilar: "收起相似报道",
      related: "相似报道",
      noRelated: "没有相似报道。",
      loading: "正在加载…",
      offline: "无法连接服务器；semsearch serve 是否在运行？",
      httpError: "服务器返回 {status}，未说明原因。",
      chartLabel: "本次搜索每月的报道数",
      chartSummary: "{months} 个月内共 {stories} 篇有日期的报道；最多在 {peak}（{count} 篇）。",
      chartNone: "这些报道都没有日期。",
      chartUndated: "另有 {count} 篇没有日期。",
      bar: "{month}：{count} 篇",
      barAction: "{month}：{count} 篇；只看这个月",
      switchTo: "English",
      switchHint: "Switch to English",
    },
  };
  const LANGUAGES = Object.keys(TEXT);
  const SAVED_LANGUAGE = "semsearch.language";

  const $ = (id) => document.getElementById(id);
  let language = initialLanguage();
  let latest = 0; // number of the newest search; older answers are dropped
  let lastChart = null; // the last coverage facets, redrawn when the language changes

  // ------------------------------------------------------------------ language

  function initialLanguage() {
    try {
      const saved = window.localStorage.getItem(SAVED_LANGUAGE);
      if (LANGUAGES.includes(saved)) return saved;
    } catch (_) {
      // storage can be off (private mode); the browser's language decides then
    }
    const wanted = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return wanted.toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  function t(key, args) {
    const template = TEXT[language][key] ?? TEXT.en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name) => (args && name in args ? String(args[name]) : whole));
  }

  // Set an element's text from the catalogue and remember the key, so switching language retranslates it.
  function say(node, key, args) {
    node.dataset.i18n = key;
    if (args) node.dataset.i18nArgs = JSON.stringify(args);
    else delete node.dataset.i18nArgs;
    node.textContent = t(key, args);
    return node;
  }

  function applyLanguage() {
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      const args = node.dataset.i18nArgs ? JSON.parse(node.dataset.i18nArgs) : undefined;
      node.textContent = t(node.dataset.i18n, args);
    }
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    const button = $("language");
    button.textContent = t("switchTo");
    button.title = t("switchHint");
    button.lang = language === "zh" ? "en" : "zh";
    if (lastChart) drawChart(lastChart);
  }

  function switchLanguage() {
    language = language === "zh" ? "en" : "zh";
    try {
      window.localStorage.setItem(SAVED_LANGUAGE, language);
    } catch (_) {
      // not remembered; the switch still holds for this page
    }
    applyLanguage();
  }

  // ------------------------------------------------------------------ small helpers

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(key, className) {
    const node = make("button", className);
    node.type = "button";
    return say(node, key);
  }

  function showError(message) {
    const line = $("error");
    line.textContent = String(message).replace(/\s+/g, " ").trim();
    line.hidden = false;
  }

  function clearError() {
    const line = $("error");
    line.textContent = "";
    line.hidden = true;
  }

  class ApiError extends Error {}

  // Call the JSON API; a failure becomes an ApiError carrying the server's one-line {"error": ...}.
  async function api(path, body) {
    const init = body === undefined
      ? { headers: { Accept: "application/json" } }
      : { method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json" }, body: JSON.stringify(body) };
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      throw new ApiError(t("offline"));
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok || data === null) {
      const said = data && typeof data.error === "string" ? data.error : t("httpError", { status: response.status });
      throw new ApiError(said);
    }
    return data;
  }

  function documentPath(docId, tail) {
    return `api/documents/${encodeURIComponent(docId)}/${tail}`;
  }

  // What the form asks for, as the search endpoint's options.
  function filters() {
    const outlet = $("outlet").value;
    return {
      mode: $("mode").value,
      since: $("since").value || null,
      until: $("until").value || null,
      where: outlet ? { source: outlet } : null,
      sort: $("sort").value,
    };
  }

  // The query's text with its highlight spans as <mark>. Spans count code points (the server is
  // Python), so the text is split into code points, not UTF-16 units.
  function highlighted(text, spans) {
    const chars = Array.from(text || "");
    const ranges = (spans || [])
      .map((span) => [Number(span.start), Number(span.end)])
      .filter(([start, end]) => Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const [start, end] of ranges) {
      const from = Math.max(start, at);
      const to = Math.min(end, chars.length);
      if (from >= to) continue;
      if (from > at) fragment.append(chars.slice(at, from).join(""));
      fragment.append(make("mark", "", chars.slice(from, to).join("")));
      at = to;
    }
    if (at < chars.length) fragment.append(chars.slice(at).join(""));
    return fragment;
  }

  // The passage's highlights moved into the paragraph holding it (both spans count in the story's text).
  function shifted(passage, paragraph) {
    const offset = Number(passage.start) - Number(paragraph.start);
    const inside = Array.from(paragraph.text).slice(offset, offset + Array.from(passage.text).length).join("");
    if (!(offset >= 0 && inside === passage.text)) return []; // not where the spans say: no marks, no wrong ones
    return (passage.highlights || []).map((h) => ({ start: h.start + offset, end: h.end + offset }));
  }

  function storyMeta(story) {
    const meta = make("p", "meta");
    const date = story.date ? make("time", "date", story.date) : say(make("span", "date"), "undated");
    if (story.date) date.dateTime = story.date;
    meta.append(date);
    if (story.source) meta.append(make("span", "outlet", story.source));
    meta.append(say(make("span", "score"), "score", { score: Number(story.score).toFixed(3) }));
    return meta;
  }

  function storyTitle(story) {
    return story.title || story.doc_id;
  }

  // ------------------------------------------------------------------ results

  let headings = 0;

  function renderStory(story) {
    const item = make("li", "story");
    const article = make("article");
    const heading = make("h3", "title", storyTitle(story));
    heading.id = `story-${++headings}`;
    article.setAttribute("aria-labelledby", heading.id);
    article.append(heading, storyMeta(story));

    const passages = make("ol", "passages");
    for (const passage of story.passages || []) passages.append(renderPassage(story, passage));
    article.append(passages);

    const similar = button("similar", "similar");
    const related = make("div", "related");
    related.hidden = true;
    related.id = `related-${headings}`;
    similar.setAttribute("aria-controls", related.id);
    similar.setAttribute("aria-expanded", "false");
    similar.addEventListener("click", () => toggleRelated(story, similar, related));
    const actions = make("div", "actions");
    actions.append(similar);
    article.append(actions, related);
    item.append(article);
    return item;
  }

  function renderPassage(story, passage) {
    const item = make("li", "passage");
    const text = make("p", "text");
    text.append(highlighted(passage.text, passage.highlights));
    const open = button("context", "context-button");
    const context = make("div", "context");
    context.hidden = true;
    context.id = `context-${story.rank}-${passage.chunk_id}-${++headings}`;
    open.setAttribute("aria-controls", context.id);
    open.setAttribute("aria-expanded", "false");
    open.addEventListener("click", () => toggleContext(story, passage, open, context));
    item.append(text, open, context);
    return item;
  }

  async function toggleContext(story, passage, open, context) {
    if (!context.hidden) {
      context.hidden = true;
      open.setAttribute("aria-expanded", "false");
      say(open, "context");
      return;
    }
    if (!context.dataset.loaded) {
      const query = new URLSearchParams({ start: passage.start, end: passage.end, before: CONTEXT, after: CONTEXT });
      open.disabled = true;
      try {
        const data = await api(`${documentPath(story.doc_id, "context")}?${query}`);
        context.replaceChildren(say(make("h4", "visually-hidden"), "contextOf"));
        for (const paragraph of data.context || []) {
          const node = make("p", paragraph.in_hit ? "paragraph in-hit" : "paragraph");
          node.append(highlighted(paragraph.text, paragraph.in_hit ? shifted(passage, paragraph) : []));
          context.append(node);
        }
        context.dataset.loaded = "1";
      } catch (error) {
        showError(error.message);
        return;
      } finally {
        open.disabled = false;
      }
    }
    context.hidden = false;
    open.setAttribute("aria-expanded", "true");
    say(open, "hideContext");
  }

  async function toggleRelated(story, similar, related) {
    if (!related.hidden) {
      related.hidden = true;
      similar.setAttribute("aria-expanded", "false");
      say(similar, "similar");
      return;
    }
    if (!related.dataset.loaded) {
      const query = new URLSearchParams({ k: RELATED, mode: $("mode").value });
      similar.disabled = true;
      try {
        const data = await api(`${documentPath(story.doc_id, "similar")}?${query}`);
        const list = make("ol", "related-list");
        for (const other of data.results || []) {
          const entry = make("li", "related-story");
          entry.append(make("span", "title", storyTitle(other)), storyMeta(other));
          list.append(entry);
        }
        related.replaceChildren(say(make("h4"), "related"));
        related.append(list.children.length ? list : say(make("p", "empty"), "noRelated"));
        related.dataset.loaded = "1";
      } catch (error) {
        showError(error.message);
        return;
      } finally {
        similar.disabled = false;
      }
    }
    related.hidden = false;
    similar.setAttribute("aria-expanded", "true");
    say(similar, "hideSimilar");
  }

  async function search() {
    const query = $("query").value.trim();
    clearError();
    if (!query) {
      showError(t("emptyQuery"));
      $("query").focus();
      return;
    }
    const number = ++latest;
    const options = filters();
    remember(query);
    say($("status"), "searching");
    $("results").setAttribute("aria-busy", "true");
    try {
      const data = await api("api/search", { query, k: STORIES, group: "document", context: 0, ...options });
      if (number !== latest) return;
      const list = $("results");
      list.replaceChildren(...(data.results || []).map(renderStory));
      if (list.children.length) say($("status"), "found", { count: list.children.length, ms: Math.round(data.took_ms || 0) });
      else say($("status"), "nothing");
      coverage(query, options, number);
    } catch (error) {
      if (number !== latest) return;
      $("status").textContent = "";
      delete $("status").dataset.i18n;
      showError(error.message);
    } finally {
      if (number === latest) $("results").removeAttribute("aria-busy");
    }
  }

  // ------------------------------------------------------------------ coverage chart

  async function coverage(query, options, number) {
    const params = new URLSearchParams({ query, by: "date:month", mode: options.mode });
    if (options.since) params.set("since", options.since);
    if (options.until) params.set("until", options.until);
    if (options.where) params.set("where", JSON.stringify(options.where));
    try {
      const facets = await api(`api/facets?${params}`);
      if (number !== latest) return;
      lastChart = facets;
      drawChart(facets);
    } catch (error) {
      if (number !== latest) return;
      lastChart = null;
      $("coverage").hidden = true;
      showError(error.message);
    }
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  // Bars of stories per month, drawn as inline SVG that scales to the column's width.
  function drawChart(facets) {
    const section = $("coverage");
    const chart = $("chart");
    const counts = (facets.counts || []).map((c) => ({ month: String(c.value), count: Number(c.count) || 0 }));
    section.hidden = false;
    chart.replaceChildren();
    const dated = counts.reduce((sum, c) => sum + c.count, 0);
    if (!dated) {
      chart.append(make("p", "empty", t("chartNone")));
      return;
    }
    // Drawn at the column's own width in CSS pixels, so labels keep their size on a phone.
    const width = Math.round(Math.min(CHART_WIDTH, Math.max(CHART_MIN_WIDTH, chart.clientWidth || CHART_WIDTH)));
    const height = 200, left = 34, right = 8, top = 12, bottom = 28;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const most = Math.max(...counts.map((c) => c.count));
    const peak = counts.find((c) => c.count === most);
    const slot = plotWidth / counts.length;
    const gap = Math.min(4, slot * 0.2);

    const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc", class: "bars" });
    const title = svg("title", { id: "chart-title" });
    title.textContent = t("chartLabel");
    const desc = svg("desc", { id: "chart-desc" });
    desc.textContent = t("chartSummary", { stories: dated, months: counts.length, peak: peak.month, count: most });
    picture.append(title, desc);
    picture.append(svg("line", { x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, class: "axis" }));
    for (const [value, y] of [[most, top], [0, top + plotHeight]]) {
      const label = svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "tick" });
      label.textContent = String(value);
      picture.append(label);
    }
    const every = Math.max(1, Math.ceil(counts.length / Math.max(1, Math.floor(plotWidth / MONTH_LABEL_WIDTH))));
    counts.forEach((c, i) => {
      const barHeight = (c.count / most) * plotHeight;
      const bar = svg("rect", {
        x: (left + i * slot + gap / 2).toFixed(2),
        y: (top + plotHeight - barHeight).toFixed(2),
        width: Math.max(1, slot - gap).toFixed(2),
        height: barHeight.toFixed(2),
        class: "bar",
        "data-month": c.month,
        "data-count": c.count,
      });
      const tip = svg("title");
      tip.textContent = t("bar", { month: c.month, count: c.count });
      bar.append(tip);
      if (c.count && MONTH.test(c.month)) {
        // a month with stories is a button: it narrows the search to that month
        bar.setAttribute("tabindex", "0");
        bar.setAttribute("role", "button");
        bar.setAttribute("aria-label", t("barAction", { month: c.month, count: c.count }));
        bar.addEventListener("click", () => narrowTo(c.month));
        bar.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            narrowTo(c.month);
          }
        });
      }
      picture.append(bar);
      if (i % every === 0 || i === counts.length - 1) {
        if (i !== counts.length - 1 && counts.length - 1 - i < every) return; // keep the last label clear
        const label = svg("text", { x: (left + (i + 0.5) * slot).toFixed(2), y: height - 8, "text-anchor": "middle", class: "tick" });
        label.textContent = c.month;
        picture.append(label);
      }
    });
    chart.append(picture, make("p", "chart-summary", desc.textContent));
    if (facets.missing) chart.append(make("p", "chart-undated", t("chartUndated", { count: facets.missing })));
  }

  // Search again within one month (YYYY-MM) of the chart: since its first day, until its last.
  function narrowTo(month) {
    const [year, number] = month.split("-").map(Number);
    const last = new Date(Date.UTC(year, number, 0)).getUTCDate(); // day 0 of the next month
    $("since").value = `${month}-01`;
    $("until").value = `${month}-${String(last).padStart(2, "0")}`;
    search();
  }

  // ------------------------------------------------------------------ the search as a link

  const LINKED = { q: "query", mode: "mode", since: "since", until: "until", outlet: "outlet", sort: "sort" };

  // Put the search in the address (?q=...&since=...), so it can be bookmarked, shared and reloaded.
  function remember(query) {
    const params = new URLSearchParams();
    for (const [name, id] of Object.entries(LINKED)) {
      const value = id === "query" ? query : $(id).value;
      if (value && !(id === "mode" && value === "hybrid") && !(id === "sort" && value === "relevance")) params.set(name, value);
    }
    window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
  }

  // Fill the form from the address; true when it holds a query to run.
  function recall(params) {
    for (const [name, id] of Object.entries(LINKED)) {
      const value = params.get(name);
      if (value === null) continue;
      const field = $(id);
      if (field.tagName === "SELECT" && ![...field.options].some((option) => option.value === value)) {
        const option = make("option", "", value); // an outlet not (yet) listed keeps its value
        option.value = value;
        field.append(option);
      }
      field.value = value;
    }
    return Boolean($("query").value.trim());
  }

  // ------------------------------------------------------------------ outlets and start-up

  async function loadOutlets() {
    const field = $("outlet").closest(".field");
    try {
      const facets = await api("api/facets?by=source");
      const select = $("outlet");
      for (const c of facets.counts || []) {
        const listed = [...select.options].find((option) => option.value === String(c.value)); // from a link
        const option = say(listed || make("option"), "outletCount", { value: c.value, count: c.count });
        option.value = c.value;
        if (!listed) select.append(option);
      }
      field.hidden = !(facets.counts || []).length;
    } catch (_) {
      field.hidden = true; // an index without outlets (no "source" metadata): nothing to filter on
    }
  }

  function start() {
    applyLanguage();
    $("language").addEventListener("click", switchLanguage);
    $("search").addEventListener("submit", (event) => {
      event.preventDefault();
      search();
    });
    for (const id of ["mode", "outlet", "sort"]) {
      $(id).addEventListener("change", () => {
        if ($("query").value.trim()) search();
      });
    }
    let resizing = 0;
    window.addEventListener("resize", () => {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(() => lastChart && drawChart(lastChart), 150);
    });
    const linked = recall(new URLSearchParams(window.location.search));
    loadOutlets();
    $("query").focus();
    if (linked) search();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
