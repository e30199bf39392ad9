// Votes (/consensus): proposals put to agents, filtered by status and paginated; one proposal
// (?id=) with its question, strategy, outcome round by round, and every vote: who voted what, how
// sure, why, and whether the vote's signature verified and it counted, or why it was excluded.

import { el, link, status, section, count, dateTime, shortId } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { query } from '../lib/api.js';
import { dataTable } from '../components/data-table.js';
import { unlessFocusedIn } from '../components/focus-guard.js';
import { pager, offsetFrom } from '../components/pager.js';
import { filterForm } from '../components/filter-form.js';

export const title = 'Votes';

const PAGE_SIZE = 25;
const STATUSES = ['open', 'accepted', 'rejected', 'no_consensus', 'quorum_failed', 'failed'];
const EXCLUSIONS = {
  bad_signature: 'its signature did not verify',
  equivocation: 'the voter voted two ways in one round',
  unknown_voter: 'the voter was not asked',
  flagged: 'the voter was flagged as faulty earlier',
  invalid: 'the vote was not valid',
  duplicate: 'the voter had already voted this round',
};

/** An exclusion as recorded (`code` or `code: detail`) in words. */
function exclusionText(exclusion) {
  if (!exclusion) return 'no reason recorded';
  const [code, ...detail] = exclusion.split(': ');
  const words = EXCLUSIONS[code];
  if (!words) return exclusion;
  return detail.length > 0 ? `${words} (${detail.join(': ')})` : words;
}

const percent = (x) => `${Math.round(x * 100)}%`;
const outcomeText = (p) => (p.outcome ? (p.outcome.decision ?? 'no decision') : 'pending');

export async function mount(view, ctx) {
  const selected = ctx.query.get('id');
  const detail = el('div', { id: 'proposal-detail' });
  const list = el('div', { id: 'proposal-list' });
  const filters = filterForm(ctx, '/consensus', [{ name: 'status', label: 'Status', options: [['', 'any'], ...STATUSES.map((s) => [s, s.replace('_', ' ')])] }], { id: 'proposal-filters' });
  view.append(el('h1', {}, 'Votes'), detail, section('Proposals', filters, list));

  async function refreshList() {
    const offset = offsetFrom(ctx.query);
    const page = await ctx.api.get(`/consensus${query({ limit: PAGE_SIZE, offset, status: ctx.query.get('status') })}`);
    const rows = page.items.map((p) =>
      el(
        'tr',
        { class: p.id === selected ? 'selected' : undefined, 'data-id': p.id, 'aria-current': p.id === selected ? 'true' : undefined },
        el('td', {}, link(`/consensus${query({ ...Object.fromEntries(ctx.query), id: p.id })}`, p.question.length > 100 ? `${p.question.slice(0, 100)}…` : p.question)),
        el('td', {}, p.settings.strategy),
        el('td', {}, status(p.status)),
        el('td', {}, outcomeText(p)),
        el('td', {}, p.swarmId ? link(`/swarms/${encodeURIComponent(p.swarmId)}`, shortId(p.swarmId)) : '—'),
        el('td', {}, dateTime(p.createdAt)),
      ),
    );
    list.replaceChildren(
      rows.length === 0 ? el('p', { class: 'empty' }, 'No proposals.') : dataTable('Proposals', ['Question', 'Strategy', 'Status', 'Outcome', 'Swarm', 'Asked'], rows, { id: 'proposal-table' }),
      pager('/consensus', ctx.query, page, 'Proposal pages'),
    );
  }

  async function refreshDetail() {
    if (!selected) return;
    const { proposal: p, votes } = await ctx.api.get(`/consensus/${encodeURIComponent(selected)}`);
    const o = p.outcome;
    detail.replaceChildren(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'proposal-title' },
        el('h2', { id: 'proposal-title' }, 'Proposal ', el('code', {}, shortId(p.id)), ' ', status(p.status)),
        el('p', { id: 'proposal-question' }, p.question),
        p.context ? el('details', {}, el('summary', {}, 'Context given to the voters'), el('pre', { tabindex: 0 }, p.context)) : null,
        el(
          'dl',
          { class: 'facts' },
          el('dt', {}, 'Options'), el('dd', {}, p.options.join(', ')),
          el('dt', {}, 'Strategy'),
          el('dd', {}, `${p.settings.strategy}: threshold ${percent(p.settings.threshold)}, quorum ${percent(p.settings.quorum)}, up to ${p.settings.maxRounds} round${p.settings.maxRounds === 1 ? '' : 's'}`),
          el('dt', {}, 'Outcome'),
          el('dd', { id: 'proposal-outcome' }, o ? `${o.decision ?? 'no decision'}${o.achieved ? '' : ' (not achieved)'}: ${percent(o.ratio)} support, ${percent(o.participation)} took part${o.reason ? `. ${o.reason}` : ''}` : 'not decided yet'),
          el('dt', {}, 'Voters asked'), el('dd', {}, count(p.voterIds.length)),
          p.swarmId ? [el('dt', {}, 'Swarm'), el('dd', {}, link(`/swarms/${encodeURIComponent(p.swarmId)}`, p.swarmId))] : null,
          p.taskId ? [el('dt', {}, 'Task'), el('dd', {}, link(`/tasks/${encodeURIComponent(p.taskId)}`, p.taskId))] : null,
          el('dt', {}, 'Asked'), el('dd', {}, dateTime(p.createdAt)),
          p.decidedAt ? [el('dt', {}, 'Decided'), el('dd', {}, dateTime(p.decidedAt))] : null,
          el('dt', {}, 'Events'), el('dd', {}, link(`/events${query({ correlationId: p.id })}`, 'this vote\'s events')),
        ),
        o && o.byzantine.length > 0
          ? el('p', { class: 'status-failed' }, `Faulty voters: ${o.byzantine.map((b) => `${b.voterId} (round ${b.round}: ${exclusionText(b.reason)})`).join('; ')}`)
          : null,
        el('h3', {}, 'Votes'),
        votes.length === 0
          ? el('p', { class: 'empty' }, 'No votes yet.')
          : dataTable(
              'Votes',
              ['Round', 'Voter', 'Decision', 'Confidence', 'Reason', 'Signature and count'],
              votes.map((v) =>
                el(
                  'tr',
                  { 'data-voter': v.voterId, 'data-status': v.status },
                  el('td', { class: 'num' }, v.round),
                  el('td', {}, v.voterId.startsWith('agt_') ? link(`/agents${query({ id: v.voterId, status: 'terminated' })}`, v.voterId) : v.voterId),
                  el('td', {}, status(v.decision)),
                  el('td', { class: 'num' }, percent(v.confidence)),
                  el('td', {}, v.reason),
                  el('td', {}, v.status === 'counted' ? el('span', { class: 'status-completed' }, `verified, counted${v.weight === 1 ? '' : ` with weight ${v.weight}`}`) : el('span', { class: 'status-failed' }, `excluded: ${exclusionText(v.exclusion)}`)),
                ),
              ),
              { id: 'proposal-votes' },
            ),
        o && o.rounds.length > 1 ? [el('h3', {}, 'Rounds'), el('ol', {}, ...o.rounds.map((r) => el('li', {}, `${r.question}: ${r.leading ?? 'no leader'} at ${percent(r.ratio)}, ${r.votesCounted} of ${r.eligible} votes${r.timedOut ? ', timed out' : ''}`)))] : null,
      ),
    );
  }

  async function refresh() {
    try {
      await Promise.all([refreshList(), refreshDetail()]);
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
  const guarded = unlessFocusedIn(view, refresh);
  const off = ctx.live.on((e) => e.type.startsWith('consensus.') || e.type === 'vote.cast', coalesce(guarded, 500));
  return () => {
    off();
    guarded.stop();
  };
}
