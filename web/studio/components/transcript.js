// An agent task's transcript, attempt by attempt and turn by turn: what the model said, the tools it
// called with their arguments, and each tool's result (errors marked), as text.

import { el, count, time } from '../lib/dom.js';
import { jsonText } from './json-view.js';

const LONG_TEXT = 1_500;

export function transcriptView(turns) {
  if (turns.length === 0) return el('p', { class: 'empty' }, 'No transcript: this task made no model calls (only agent tasks have one).');
  const toolNames = new Map();
  for (const turn of turns) for (const part of turn.content) if (part.type === 'tool_use') toolNames.set(part.id, part.name);
  const attempts = [...new Set(turns.map((t) => t.attempt))];
  return el(
    'div',
    { id: 'transcript' },
    ...attempts.map((attempt) =>
      el(
        'section',
        { class: 'transcript-attempt', 'aria-label': `Attempt ${attempt}` },
        attempts.length > 1 ? el('h3', {}, `Attempt ${attempt}`) : null,
        el('ol', { class: 'turns' }, ...turns.filter((t) => t.attempt === attempt).map((t) => turnView(t, toolNames))),
      ),
    ),
  );
}

function turnView(turn, toolNames) {
  const meta = [
    turn.model ? `${turn.provider ?? ''} ${turn.model}`.trim() : null,
    turn.usage ? `${count(turn.usage.inputTokens)} in / ${count(turn.usage.outputTokens)} out tokens` : null,
    time(turn.createdAt),
  ].filter(Boolean);
  return el(
    'li',
    { class: `turn turn-${turn.role}`, 'data-role': turn.role, 'data-turn': turn.turn },
    el('div', { class: 'turn-head' }, el('strong', {}, `${turn.turn}. ${turn.role}`), el('span', { class: 'muted' }, meta.join(' · '))),
    ...turn.content.map((part) => partView(part, turn.role, toolNames)),
  );
}

function partView(part, role, toolNames) {
  if (part.type === 'text') return textBlock(part.text, role === 'system' ? 'System prompt' : 'Text');
  if (part.type === 'tool_use') {
    return el('div', { class: 'tool-call', 'data-tool': part.name }, el('div', {}, 'calls ', el('code', {}, part.name)), el('pre', {}, jsonText(part.input)));
  }
  if (part.type === 'tool_result') {
    const name = toolNames.get(part.toolUseId) ?? 'tool';
    return el(
      'div',
      { class: `tool-result${part.isError ? ' tool-error' : ''}`, 'data-tool': name },
      el('div', {}, part.isError ? 'error from ' : 'result of ', el('code', {}, name)),
      el('pre', {}, part.content),
    );
  }
  return el('pre', {}, jsonText(part));
}

/** Long text (a system prompt, a big answer) starts folded. */
function textBlock(text, label) {
  if (text.length <= LONG_TEXT && label !== 'System prompt') return el('pre', { class: 'turn-text' }, text);
  return el('details', {}, el('summary', {}, `${label} (${count(text.length)} characters)`), el('pre', { class: 'turn-text' }, text));
}
