import { isPlainObject, matchOption, parseShare, pick, trimmed } from '../providers/lenient-values.js';
import { isYesNo } from './consensus-outcome.js';

/** Words a voter may use for approve or reject; read as such only on a yes/no ballot. */
const YES_NO_SYNONYMS: Readonly<Record<string, string>> = {
  yes: 'approve',
  approved: 'approve',
  approves: 'approve',
  accept: 'approve',
  accepted: 'approve',
  agree: 'approve',
  lgtm: 'approve',
  true: 'approve',
  no: 'reject',
  rejected: 'reject',
  rejects: 'reject',
  deny: 'reject',
  denied: 'reject',
  decline: 'reject',
  declined: 'reject',
  disagree: 'reject',
  false: 'reject',
};

/**
 * A cast_vote answer in the schema's form where only the form differs: the decision as one of the
 * ballot's options in any case (`Approve`, `APPROVED`, and on a yes/no ballot `yes` or `no`), the
 * confidence as a share (`"80%"` → 0.8), extra fields dropped. A decision that names no option, or
 * more than one, is left for the schema to refuse.
 */
export function normalizeVoteAnswer(raw: unknown, options: readonly string[]): unknown {
  if (!isPlainObject(raw)) return raw;
  const out = pick(raw, ['decision', 'confidence', 'reason']);
  out.decision = matchOption(out.decision, options, isYesNo(options) ? YES_NO_SYNONYMS : {}) ?? out.decision;
  out.confidence = parseShare(out.confidence);
  out.reason = trimmed(out.reason);
  return out;
}
