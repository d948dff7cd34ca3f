/**
 * `node dist/scripts/trace-page.js TRACE_ID > trace.html`: one trace from Jaeger's HTTP API (JAEGER_URL) as a
 * static waterfall page (the spans by start time, indented under their parents, one colour per service). The
 * Jaeger built from the Go module proxy has no UI assets (the UI is a separate JavaScript build), so this is
 * how the README's trace screenshot is made; Jaeger's API answers the same data to any other viewer.
 */
interface JaegerSpan {
  spanID: string;
  operationName: string;
  processID: string;
  startTime: number;
  duration: number;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function main(): Promise<void> {
  const traceId = process.argv[2];
  if (!traceId) throw new Error('usage: trace-page TRACE_ID');
  const base = process.env.JAEGER_URL ?? 'http://127.0.0.1:16686';
  const body = (await (await fetch(`${base}/api/traces/${traceId}`)).json()) as { data?: JaegerTrace[] };
  const t = body.data?.[0];
  if (!t) throw new Error(`no trace ${traceId} in ${base}`);
  const byId = new Map(t.spans.map((s) => [s.spanID, s]));
  const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID))?.spanID;
  const depth = (s: JaegerSpan): number => {
    const p = parentOf(s);
    return p ? 1 + depth(byId.get(p)!) : 0;
  };
  // Depth-first by start time: each span right under its parent.
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const s of t.spans) children.set(parentOf(s), [...(children.get(parentOf(s)) ?? []), s]);
  const ordered: JaegerSpan[] = [];
  const walk = (id: string | undefined) => {
    for (const s of (children.get(id) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      ordered.push(s);
      walk(s.spanID);
    }
  };
  walk(undefined);
  const start = Math.min(...t.spans.map((s) => s.startTime));
  const end = Math.max(...t.spans.map((s) => s.startTime + s.duration));
  const total = Math.max(1, end - start);
  const services = [...new Set(Object.values(t.processes).map((p) => p.serviceName))].sort();
  const colour = (svc: string) => COLOURS[services.indexOf(svc) % COLOURS.length]!;
  const rows = ordered
    .map((s) => {
      const svc = t.processes[s.processID]!.serviceName;
      const left = ((s.startTime - start) / total) * 100;
      const width = Math.max(0.3, (s.duration / total) * 100);
      const error =
        s.tags.some((g) => g.key === 'error' && g.value === true) ||
        s.tags.some((g) => g.key === 'otel.status_code' && g.value === 'ERROR');
      return `<tr><td style="padding-left:${8 + depth(s) * 14}px"><span class="dot" style="background:${colour(svc)}"></span>${esc(svc)} <b>${esc(s.operationName)}</b>${error ? ' <span class="err">error</span>' : ''}</td>
<td class="bar"><div style="margin-left:${left.toFixed(2)}%;width:${width.toFixed(2)}%;background:${colour(svc)}"></div></td><td class="ms">${(s.duration / 1000).toFixed(1)} ms</td></tr>`;
    })
    .join('\n');
  process.stdout.write(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>trace ${t.traceID}</title><style>
body{font:13px/1.35 system-ui,sans-serif;margin:16px 22px;color:#222} h1{font-size:18px;margin:0 0 4px} .muted{color:#777}
table{border-collapse:collapse;width:100%;margin-top:10px} td{border-bottom:1px solid #eee;padding:2px 6px;white-space:nowrap}
td.bar{width:55%} td.bar div{height:12px;border-radius:2px} td.ms{text-align:right;color:#555;font-variant-numeric:tabular-nums}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px} .err{color:#c62828;font-weight:600}
</style></head><body><h1>Trace ${t.traceID}</h1>
<div class="muted">from ${esc(base)}/api/traces/${t.traceID}: ${t.spans.length} spans, ${services.length} services (${services.map(esc).join(', ')}), ${(total / 1000).toFixed(0)} ms</div>
<table>${rows}</table></body></html>\n`);
}

main().catch((err) => {
  console.error(String(err));
  process.exit(1);
});
