/**
 * The report page as an Eta template. Every value comes from the evidence and is written with
 * `<%= %>`, which HTML-escapes it (ledger names and check details come from the database);
 * nothing is written raw. Self-contained: inline CSS, no script, no font, image or link that
 * would reach the network. Status is said in words and a symbol, not by colour alone, so it
 * survives a black-and-white print.
 */
export const PAGE_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Audit evidence: stack <%= it.e.stack %></title>
<style>
  :root { --ok: #17663a; --ok-bg: #e3f4e9; --bad: #a4161a; --bad-bg: #fde4e4; --dep: #7a5200; --dep-bg: #fff3d6; --line: #d0d5dd; --muted: #555e6b; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111; margin: 0; background: #f6f7f9; }
  main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #111; }
  .sub { color: var(--muted); margin: 0 0 16px; }
  code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
  .wrap { overflow-wrap: anywhere; word-break: break-all; }
  table { border-collapse: collapse; width: 100%; }
  table.ledger { table-layout: fixed; }
  th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
  th { background: #eef0f3; font-weight: 600; font-size: 12px; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
  dl.facts dt { color: var(--muted); }
  dl.facts dd { margin: 0; }
  .summary { display: flex; flex-wrap: wrap; gap: 10px; margin: 18px 0 0; }
  .tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
  .tile b { display: block; font-size: 20px; }
  .badge { display: inline-block; white-space: nowrap; font-weight: 700; font-size: 12px; padding: 1px 7px; border-radius: 10px; border: 1px solid currentColor; }
  .met, .ok { color: var(--ok); background: var(--ok-bg); }
  .not-met, .failed { color: var(--bad); background: var(--bad-bg); }
  .tile b.ok, .tile b.failed, .tile b.not-met { background: none; }
  .depends { color: var(--dep); background: var(--dep-bg); }
  tr.row-not-met td, tr.row-failed td { background: var(--bad-bg); }
  tr.row-not-met td:first-child, tr.row-failed td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
  tr.row-depends td:first-child { box-shadow: inset 4px 0 0 var(--dep); }
  ul.settings { list-style: none; margin: 0; padding: 0; }
  .note { color: var(--muted); font-size: 12px; }
  .none { color: var(--muted); font-style: italic; }
  footer { margin-top: 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
  @media print {
    @page { size: A4; margin: 12mm 11mm 14mm; }
    body { background: #fff; font-size: 9.5pt; }
    main { max-width: none; padding: 0; }
    h2 { break-after: avoid; page-break-after: avoid; margin-top: 16px; }
    th, td { padding: 3px 5px; }
    code, .mono { font-size: 7.5pt; }
    table.ledger { font-size: 8.5pt; }
    .tile { min-width: 120px; padding: 4px 8px; }
    * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  }
</style>
</head>
<body>
<main>
<header>
  <h1>Audit evidence: stack <span data-field="stack"><%= it.e.stack %></span></h1>
  <p class="sub">PostgreSQL migrations and database posture, from the Pulumi stack's outputs. Environment <b><%= it.e.environment %></b>.</p>
  <dl class="facts">
    <dt>Database</dt><dd><%= it.e.database.kind === "rds" ? "RDS PostgreSQL instance" : it.e.database.kind === "aurora" ? "Aurora PostgreSQL cluster" : it.e.database.kind %> <code><%= it.e.database.identifier %></code></dd>
    <dt>Endpoint</dt><dd><code data-field="endpoint"><%= it.e.database.endpoint %></code></dd>
    <dt>Engine</dt><dd><span data-field="engine"><%= it.e.database.engine %> <%= it.e.database.engineVersion %></span><% if (it.e.verification) { %> (the server says <%= it.e.verification.server.version %>)<% } %></dd>
    <dt>Report made</dt><dd data-field="generated-at"><%= it.e.generatedAt %></dd>
    <dt>Pulumi update</dt><dd data-field="update"><% if (it.e.source.pulumiUpdate) { const u = it.e.source.pulumiUpdate; %><% if (u.version) { %>#<%= u.version %> <% } %>(<%= u.kind %>, <%= u.result %>), <%= u.startTime %> to <%= u.endTime %><% if (u.gitHead) { %>, from commit <code><%= u.gitHead %></code><% } %><% } else { %><span class="none"><%= it.e.source.outputs.startsWith("pulumi") ? "none recorded for this stack" : "unknown (the outputs were read from a file)" %></span><% } %></dd>
    <dt>Git commit</dt><dd><code data-field="commit"><%= it.e.source.gitCommit %></code></dd>
    <dt>Outputs from</dt><dd><%= it.e.source.outputs %></dd>
  </dl>
  <div class="summary">
    <% if (it.e.controls && it.e.controls.applies) { %>
    <div class="tile"><b><%= it.e.controls.summary.met %> / <%= it.e.controls.rows.length %></b>controls met</div>
    <div class="tile"><b class="<%= it.e.controls.summary.notMet > 0 ? 'not-met' : '' %>"><%= it.e.controls.summary.notMet %></b>not met</div>
    <div class="tile"><b><%= it.e.controls.summary.depends %></b>depend on what the stack cannot see</div>
    <% } %>
    <% if (it.e.migrations) { %><div class="tile"><b><%= it.e.migrations.applied.length %></b>migrations applied, <%= it.e.migrations.pending.length %> pending</div><% } %>
    <% if (it.e.drift) { %><div class="tile"><b class="<%= it.e.drift.status === 'none' ? 'ok' : it.e.drift.status === 'drifted' ? 'failed' : '' %>" data-field="drift-summary"><%= it.e.drift.status === "drifted" ? it.e.drift.differences.length + " drifted" : it.e.drift.status === "none" ? "no drift" : "drift unchecked" %></b>schema against the snapshot</div><% } %>
    <% if (it.e.verification) { %><div class="tile"><b class="<%= it.e.verification.ok ? 'ok' : 'failed' %>" data-field="checks-summary"><%= it.e.verification.passed %> passed, <%= it.e.verification.failed %> failed</b>verification checks</div><% } %>
  </div>
</header>

<section id="controls">
  <h2>AWS Security Hub controls</h2>
  <% if (!it.e.controls) { %>
  <p class="none">No <code>controls</code> output: the stack was last updated by a program without it, or it is withheld.</p>
  <% } else if (!it.e.controls.applies) { %>
  <p data-field="controls-not-applicable">The controls do not apply: <%= it.e.controls.scope %>.</p>
  <% } else { %>
  <p class="sub">Judged on the <%= it.e.controls.scope %>, from the settings its resources reported.</p>
  <table>
    <thead><tr><th style="width:6%">Control</th><th style="width:28%">Title</th><th style="width:9%">Status</th><th style="width:32%">Settings that show it</th><th>Note</th></tr></thead>
    <tbody>
    <% for (const c of it.e.controls.rows) { const cls = c.status === "met" ? "met" : c.status === "not met" ? "not-met" : "depends"; %>
      <tr class="row-<%= cls %>" data-control="<%= c.id %>" data-status="<%= c.status %>">
        <td><b><%= c.id %></b></td>
        <td><%= c.title %></td>
        <td><span class="badge <%= cls %>"><%= cls === "met" ? "✓" : cls === "not-met" ? "✗" : "?" %> <%= c.status %></span></td>
        <td><ul class="settings"><% for (const s of c.settings) { %><li><code class="wrap"><%= s.name %>: <%= s.value %></code></li><% } %></ul></td>
        <td class="note"><%= c.note %></td>
      </tr>
    <% } %>
    </tbody>
  </table>
  <% } %>
</section>

<section id="ledger">
  <h2>Migration ledger</h2>
  <% if (!it.e.migrations) { %>
  <p class="none">No <code>migrations</code> output (withheld, or the verification has not run).</p>
  <% } else { %>
  <p class="sub">As the database holds it (<code><%= it.e.migrations.database %></code>)<% if (it.e.migrationSet) { %>; the set read by the program: <%= it.e.migrationSet.files ?? "?" %> files, sha256 <code class="wrap"><%= it.e.migrationSet.sha256 %></code><% } %>.</p>
  <table class="ledger">
    <colgroup><col style="width:15%"><col style="width:26%"><col style="width:22%"><col style="width:12%"><col style="width:17%"><col style="width:8%"></colgroup>
    <thead><tr><th>Version</th><th>Name</th><th>Checksum (sha256)</th><th>Transaction</th><th>Applied at, by, duration</th><th>Status</th></tr></thead>
    <tbody>
    <% for (const m of it.e.migrations.applied) { %>
      <tr data-migration="<%= m.version %>">
        <td class="mono"><%= m.version %></td>
        <td class="wrap"><%= m.name %></td>
        <td><code class="wrap"><%= m.checksum %></code></td>
        <td><%= m.transaction %></td>
        <td><span class="mono" data-col="applied-at"><%= m.appliedAt %></span><br>by <span data-col="applied-by"><%= m.appliedBy %></span>, <span class="mono" data-col="duration"><%= m.durationMs === null ? "duration unknown" : m.durationMs + " ms" %></span></td>
        <td><%= m.status %></td>
      </tr>
    <% } %>
    </tbody>
  </table>
  <% if (it.e.migrations.pending.length > 0) { %>
  <p><b>Pending</b> (in the set, not applied):</p>
  <ul><% for (const p of it.e.migrations.pending) { %><li data-pending="<%= p.version %>"><code><%= p.version %></code> <%= p.name %> (<%= p.transaction %>)</li><% } %></ul>
  <% } %>
  <% if (it.e.migrations.problems.length > 0) { %>
  <p class="failed"><b>Where the ledger and the files disagree:</b></p>
  <ul><% for (const p of it.e.migrations.problems) { %><li data-problem><code><%= p.file %><%= p.line === null ? "" : ":" + p.line %></code> <%= p.message %></li><% } %></ul>
  <% } %>
  <% } %>
</section>

<section id="drift">
  <h2>Schema drift</h2>
  <% if (!it.e.drift) { %>
  <p class="none">No <code>drift</code> output: the stack was last updated by a program without it, or it is withheld.</p>
  <% } else { const d = it.e.drift; %>
  <dl class="facts">
    <dt>Result</dt><dd data-field="drift-status"><span class="badge <%= d.status === 'none' ? 'ok' : d.status === 'drifted' ? 'failed' : 'depends' %>"><%= d.status === "none" ? "✓ no drift" : d.status === "drifted" ? "✗ DRIFTED" : "? " + d.status %></span></dd>
    <dt>Applied head</dt><dd><code data-field="drift-head"><%= d.head ?? "none" %></code></dd>
    <dt>Snapshot sha256</dt><dd><% if (d.snapshot) { %><code class="wrap" data-field="drift-snapshot-sha256"><%= d.snapshot.sha256 %></code> (recorded at <code><%= d.snapshot.head %></code>, <%= d.snapshot.takenAt %>)<% } else { %><span class="none">none recorded</span><% } %></dd>
    <dt>Schema now, sha256</dt><dd><% if (d.liveSha256) { %><code class="wrap" data-field="drift-live-sha256"><%= d.liveSha256 %></code><% } else { %><span class="none">not compared</span><% } %></dd>
  </dl>
  <% if (d.reason) { %><p class="note" data-field="drift-reason">Not compared: <%= d.reason %></p><% } %>
  <% if (d.differences.length > 0) { %>
  <table>
    <thead><tr><th style="width:12%">Object</th><th style="width:10%">Change</th><th>Difference from the migrations</th></tr></thead>
    <tbody>
    <% for (const x of d.differences) { %>
      <tr class="row-failed" data-drift="<%= x.kind %>:<%= x.name %>">
        <td><%= x.kind %></td>
        <td><%= x.change %></td>
        <td class="wrap"><%= x.line %></td>
      </tr>
    <% } %>
    </tbody>
  </table>
  <p class="note">Each is a change made outside the migrations. Resolve it by undoing it in the database, or by a migration that makes it the files' own.</p>
  <% } %>
  <% } %>
</section>

<section id="verification">
  <h2>Verification checks</h2>
  <% if (!it.e.verification) { %>
  <p class="none">No <code>verification</code> output (withheld, or the verification has not run).</p>
  <% } else { %>
  <table>
    <thead><tr><th style="width:10%">Result</th><th style="width:22%">Check</th><th>Evidence</th><th style="width:20%">File</th></tr></thead>
    <tbody>
    <% for (const c of it.e.verification.checks) { %>
      <tr class="<%= c.ok ? 'row-ok' : 'row-failed' %>" data-check="<%= c.name %>" data-ok="<%= c.ok %>">
        <td><span class="badge <%= c.ok ? 'ok' : 'failed' %>"><%= c.ok ? "✓ passed" : "✗ FAILED" %></span></td>
        <td><b class="wrap"><%= c.name %></b></td>
        <td class="wrap"><%= c.detail %></td>
        <td><code class="wrap"><%= c.file %></code></td>
      </tr>
    <% } %>
    </tbody>
  </table>
  <% } %>
</section>

<section id="tls">
  <h2>TLS: what the server said</h2>
  <% if (!it.e.verification) { %>
  <p class="none">Unknown: no <code>verification</code> output.</p>
  <% } else { const s = it.e.verification.server; %>
  <dl class="facts">
    <dt>Server version</dt><dd><%= s.version %></dd>
    <dt>This report's connection encrypted</dt><dd data-field="tls-encrypted"><%= s.connectionEncrypted === null ? "unknown" : s.connectionEncrypted ? "yes" : "no" %></dd>
    <dt>TLS version</dt><dd><%= s.tlsVersion ?? "none" %></dd>
    <dt>rds.force_ssl</dt><dd><%= s.forceSsl ?? "not set (not an RDS server)" %></dd>
    <% if (it.e.database.posture && it.e.database.posture.caCertificate !== undefined) { %><dt>Server certificate CA</dt><dd><code><%= it.e.database.posture.caCertificate %></code></dd><% } %>
  </dl>
  <p class="note">These describe the connection the verification command made at the last update, seen from the server (<code>pg_stat_ssl</code>).</p>
  <% } %>
</section>

<% if (it.e.redactions.length > 0) { %>
<section id="redactions">
  <h2>Withheld from this report</h2>
  <ul><% for (const r of it.e.redactions) { %><li data-redaction><code><%= r.path %></code>: <%= r.reason %></li><% } %></ul>
</section>
<% } %>

<section id="limits">
  <h2>What this report does not prove</h2>
  <ul><% for (const l of it.e.limits) { %><li><%= l %></li><% } %></ul>
</section>

<footer>
  The same data is in <code>evidence.json</code> beside this page; its sha256 is <code class="wrap" data-field="evidence-sha256"><%= it.evidenceSha256 %></code>
  (<code>sha256sum -c evidence.json.sha256</code>). Format: <%= it.e.format %>.
</footer>
</main>
</body>
</html>
`;
