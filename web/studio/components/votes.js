// The votes on each result: per proposal its question, decision and tally, and every vote cast:
// voter, decision, confidence, reason, whether its signature verified, and whether it was counted
// or excluded (and why). Abstentions and flagged voters are listed with their reasons.

import { el, status, table } from '../lib/dom.js';
import { replaceKeepingFocus } from './keep-focus.js';

/** What a vote's record says about its signature (the screening checks it before anything else). */
export function signatureWord(vote) {
  const code = vote.exclusion?.split(':')[0] ?? null;
  if (code === 'bad_signature') return 'did not verify';
  if (code === 'unknown_voter') return 'could not be checked (no key for this voter)';
  return 'verified';
}

const DECISION_CLASS = { approve: 'approved', reject: 'rejected' };
const percent = (x) => `${Math.round((x ?? 0) * 100)}%`;

/**
 * items: [{ proposal, votes }] from GET /swarms/:id/votes; view: { proposalStatus(id) → status or
 * undefined (not yet proposed), voteShown(vote) → boolean }; titleOf(taskId) → plan task title.
 */
export function renderVotes(container, items, { proposalStatus, voteShown, titleOf, agentLabel }) {
  const shown = items.filter((i) => proposalStatus(i.proposal) !== undefined);
  if (shown.length === 0) {
    replaceKeepingFocus(container, el('p', { class: 'empty' }, items.length === 0 ? 'No votes: this swarm put no result to a vote.' : 'No vote had been called yet at this point.'));
    return;
  }
  replaceKeepingFocus(
    container,
    ...shown.map(({ proposal, votes }) => {
      const state = proposalStatus(proposal);
      const decided = state !== 'open';
      const outcome = decided ? proposal.outcome : null;
      const cast = votes.filter(voteShown);
      const task = proposal.taskId ? titleOf(proposal.taskId) : null;
      const abstentions = decided ? (outcome?.rounds ?? []).flatMap((r) => (r.abstentions ?? []).map((a) => ({ ...a, round: r.round }))) : [];
      const byzantine = decided ? (outcome?.byzantine ?? []) : [];
      return el(
        'article',
        { class: 'proposal', 'data-id': proposal.id },
        el('h3', {}, task ? el('a', { href: `/tasks/${encodeURIComponent(proposal.taskId)}`, 'data-key': `proposal:${proposal.id}` }, task) : proposal.question, ' ', status(state)),
        el('p', { class: 'muted' }, proposal.question),
        el(
          'p',
          {},
          `${proposal.settings.strategy}, ${proposal.voterIds.length} voter${proposal.voterIds.length === 1 ? '' : 's'}`,
          outcome ? ` · decision: ${outcome.decision ?? 'none'} · support ${percent(outcome.ratio)} · participation ${percent(outcome.participation)}${outcome.rounds.length > 1 ? ` · ${outcome.rounds.length} rounds` : ''}` : '',
          outcome?.reason ? ` · ${outcome.reason}` : '',
        ),
        cast.length === 0
          ? el('p', { class: 'empty' }, 'No vote cast yet.')
          : table(
              ['Voter', 'Round', 'Decision', 'Confidence', 'Reason', 'Signature', 'Counted'],
              cast.map((v) =>
                el(
                  'tr',
                  { class: `vote vote-${v.status}`, 'data-voter': v.voterId },
                  el('td', {}, el('a', { href: `/agents?id=${encodeURIComponent(v.voterId)}`, 'data-key': `vote:${v.id}` }, agentLabel(v.voterId))),
                  el('td', { class: 'num' }, v.round),
                  el('td', {}, el('span', { class: `status status-${DECISION_CLASS[v.decision] ?? 'other'}` }, v.decision)),
                  el('td', { class: 'num' }, percent(v.confidence)),
                  el('td', { class: 'reason' }, v.reason || '(none given)'),
                  el('td', {}, signatureWord(v)),
                  el('td', {}, v.status === 'counted' ? `counted${v.weight !== 1 ? ` (weight ${v.weight})` : ''}` : `excluded: ${v.exclusion ?? 'no reason recorded'}`),
                ),
              ),
              { class: 'votes-table' },
            ),
        abstentions.length === 0
          ? null
          : el('ul', { class: 'abstentions' }, ...abstentions.map((a) => el('li', {}, `${agentLabel(a.voterId)} abstained in round ${a.round}: ${a.reason}${a.provider ? ` (${a.provider.provider}: ${a.provider.message})` : ''}`))),
        byzantine.length === 0
          ? null
          : el('ul', { class: 'flags' }, ...byzantine.map((b) => el('li', {}, `${agentLabel(b.voterId)} flagged in round ${b.round}: ${b.reason.replace('_', ' ')}`))),
      );
    }),
  );
}
