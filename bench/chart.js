// bench/cpu-per-request.svg, written by hand from the run's medians: CPU µs per request of the
// app process, a row of bars (one per route) for each variant, one panel per Node line (each with
// its own scale), Express variants above Fastify's.
import { ROUTES } from './load.js';
import { bareRatio, fmt, platformVariants, summaries } from './summary.js';

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#e15759'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const escape = (text) =>
  String(text).replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c],
  );

/** A round upper bound for the axis, and its tick step. */
function axis(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  return { top: Math.ceil(max / step) * step || step, step };
}

export function renderChart(results) {
  const table = summaries(results);
  const lines = results.lines.filter((line) => table[line.id]);
  const routes = results.config.routes.filter((route) =>
    lines.some((line) => table[line.id][route]),
  );
  const sections = ['express', 'fastify']
    .map((platform) => ({
      platform,
      title: platform === 'express' ? 'Express' : 'Fastify',
      variants: platformVariants(platform).filter((variant) =>
        lines.some((line) => routes.some((route) => table[line.id][route]?.[variant.name])),
      ),
    }))
    .filter((section) => section.variants.length > 0);

  // One scale per panel: Node 20's Express figures would squash the other lines' bars.
  const scales = lines.map((line) =>
    axis(
      Math.max(
        1,
        ...routes.flatMap((route) =>
          Object.values(table[line.id][route] ?? {})
            .filter((s) => !s.void && Number.isFinite(s.cpu))
            .map((s) => s.cpu),
        ),
      ),
    ),
  );

  const bar = 9;
  const rowHeight = routes.length * bar + 8;
  const labelWidth = 210;
  const panelWidth = 250;
  const panelGap = 22;
  const valueRoom = 34;
  const plotWidth = panelWidth - valueRoom;
  const headerTop = 58;
  const sectionHead = 22;
  const height =
    headerTop +
    24 +
    sections.reduce((sum, s) => sum + sectionHead + s.variants.length * rowHeight, 0) +
    34;
  const width = Math.max(780, labelWidth + lines.length * (panelWidth + panelGap));
  const x = (value, p) => (Math.min(value, scales[p].top) / scales[p].top) * plotWidth;

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="600">CPU µs per request of the app process (lower is better), median of ${results.config.rounds} rounds</text>`,
    `<text x="12" y="37" fill="#555">${escape(
      `${results.meta.date?.slice(0, 10) ?? ''} · ${results.meta.cores} cores, load average ${results.meta.loadBefore} · ${results.config.connections} connections · each panel its own scale · hover a bar for bare ÷ variant`,
    )}</text>`,
  );
  // Legend: one colour per route.
  routes.forEach((route, i) => {
    const lx = 12 + i * 130;
    out.push(
      `<rect x="${lx}" y="${headerTop - 12}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${lx + 14}" y="${headerTop - 3}">${escape(`${ROUTES[route].method} ${ROUTES[route].path}`)}</text>`,
    );
  });

  const plotTop = headerTop + 24;
  const plotBottom = height - 34;
  lines.forEach((line, p) => {
    const left = labelWidth + p * (panelWidth + panelGap);
    out.push(
      `<text x="${left}" y="${plotTop - 8}" font-size="12" font-weight="600">${escape(
        `${line.label} (${line.version})`,
      )}</text>`,
    );
    const { top, step } = scales[p];
    for (let tick = 0; tick <= top + 1e-9; tick += step) {
      const tx = left + x(tick, p);
      out.push(
        `<line x1="${tx.toFixed(1)}" y1="${plotTop}" x2="${tx.toFixed(1)}" y2="${plotBottom}" stroke="#e4e4e4"/>`,
        `<text x="${tx.toFixed(1)}" y="${plotBottom + 13}" text-anchor="middle" fill="#666" font-size="10">${Math.round(tick)}</text>`,
      );
    }
    out.push(
      `<text x="${left + plotWidth / 2}" y="${plotBottom + 27}" text-anchor="middle" fill="#666" font-size="10">µs per request</text>`,
    );
  });

  let y = plotTop;
  for (const section of sections) {
    out.push(
      `<text x="12" y="${y + 15}" font-size="12" font-weight="600">${section.title}</text>`,
      `<line x1="12" y1="${y + 19}" x2="${width - 12}" y2="${y + 19}" stroke="#999"/>`,
    );
    y += sectionHead;
    for (const variant of section.variants) {
      out.push(
        `<text x="${labelWidth - 8}" y="${y + rowHeight / 2 + 3}" text-anchor="end">${escape(variant.short)}</text>`,
      );
      lines.forEach((line, p) => {
        const left = labelWidth + p * (panelWidth + panelGap);
        routes.forEach((route, r) => {
          const s = table[line.id][route]?.[variant.name];
          const by = y + 4 + r * bar;
          if (s === undefined || s.void || !Number.isFinite(s.cpu)) {
            out.push(
              `<text x="${left + 2}" y="${by + bar - 2}" font-size="8" fill="#999">${s?.void ? 'VOID' : '–'}</text>`,
            );
            return;
          }
          const ratio = bareRatio(table[line.id][route], variant.name);
          const w = Math.max(1, x(s.cpu, p));
          const tip = `${variant.short}, ${ROUTES[route].method} ${ROUTES[route].path}, ${line.label}: ${fmt(s.cpu, 0)} µs${Number.isFinite(ratio) ? ` (bare ÷ variant ${fmt(ratio)})` : ''}`;
          out.push(
            `<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${bar - 1}" fill="${COLORS[r % COLORS.length]}"><title>${escape(tip)}</title></rect>`,
            `<text x="${(left + w + 3).toFixed(1)}" y="${by + bar - 2}" font-size="8" fill="#333">${fmt(s.cpu, 0)}</text>`,
          );
        });
      });
      y += rowHeight;
    }
  }
  out.push('</svg>', '');
  return out.join('\n');
}
