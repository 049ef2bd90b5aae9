import { api } from './api.js';
import { h, notice, table } from './dom.js';

// AI usage and cost (GET /v1/usage): tokens and USD by consumer, model and provider. Shown only
// when the live config has AI routes; otherwise a plain notice.

const usd = (n) => `$${n.toFixed(6)}`;
const PERIODS = ['day', 'month', 'all'];

function usageTable(report, caption) {
  const dims = report.groupBy;
  return table([...dims.map((d) => d[0].toUpperCase() + d.slice(1)), 'Requests', 'Prompt tokens', 'Completion tokens', 'Total tokens', 'Cost (USD)'],
    report.items.map((i) => [...dims.map((d) => (d === 'consumer' && i.group[d] ? h('a', { href: `#/apps/${encodeURIComponent(i.group[d])}` }, i.group[d]) : i.group[d] ?? '—')),
      String(i.requests), String(i.promptTokens), String(i.completionTokens), String(i.totalTokens), usd(i.costUsd)]), caption);
}

export async function usagePage(query) {
  const period = PERIODS.includes(query.get('period')) ? query.get('period') : 'month';
  const [byConsumer, byProvider] = await Promise.all([
    api('GET', `/v1/usage?by=consumer,model&period=${period}`), api('GET', `/v1/usage?by=provider,model&period=${period}`)]);
  if (!byConsumer.aiRoutes.length) {
    return h('section', {}, h('h1', {}, 'AI usage and cost'), notice('info', 'No AI routes are configured: this gateway has no ai section (docs/ai-gateway.md), so there is no usage to show.'));
  }
  const t = byConsumer.total;
  return h('section', {}, h('h1', {}, 'AI usage and cost'),
    h('p', {}, 'Period: ', PERIODS.map((p) => [h('a', { href: `#/usage?period=${p}`, 'aria-current': p === period ? 'page' : null }, p === 'all' ? 'all time' : `this ${p}`), ' ']),
      ` · from ${byConsumer.from} to ${byConsumer.to}${byConsumer.tenant ? ` · tenant ${byConsumer.tenant}` : ''}.`),
    h('dl', { class: 'stats' },
      h('div', {}, h('dt', {}, 'Requests'), h('dd', {}, String(t.requests))),
      h('div', {}, h('dt', {}, 'Tokens'), h('dd', {}, String(t.totalTokens))),
      h('div', {}, h('dt', {}, 'Cost'), h('dd', {}, usd(t.costUsd)))),
    h('p', { class: 'help' }, `AI routes: ${byConsumer.aiRoutes.join(', ')}; models: ${byConsumer.models.join(', ')}.`),
    h('h2', {}, 'By consumer and model'), usageTable(byConsumer, 'Usage by consumer and model'),
    h('h2', {}, 'By provider and model'), usageTable(byProvider, 'Usage by provider and model'));
}
