/**
 * Credentials out of URLs before they are logged. A query parameter is a credential when its name,
 * percent-decoded (repeatedly) and compared case-insensitively without separators, looks like one
 * (`access_token`, `ACCESS%5FTOKEN`, `api-key`, `apikey`, `password`, `X-Amz-Signature`, ...), or
 * when its value looks like a Colony API key or a JWT whatever its name. Userinfo (`user:pass@`) is
 * removed too. Over-redacting a log line is cheap; under-redacting leaks a key to whoever reads logs.
 */

export const REDACTED = '[redacted]';

/** Parts of a normalised (lowercase, letters and digits only) parameter name that mark a credential. */
const CREDENTIAL_NAME = /token|key|secret|passw|pwd|auth|credential|session|signature|jwt|bearer|cookie|^sig$|^code$/;

/** Values that are credentials whatever they are called: Colony API keys and JWTs. */
const CREDENTIAL_VALUE = /^(colony_[A-Za-z0-9_-]{8,}|eyJ[\w-]+\.[\w-]+\.[\w-]*)$/;

/** Percent-encoding inside percent-encoding is undone this many times at most. */
const MAX_DECODE_ROUNDS = 4;

/** Absolute URLs inside free text (log messages). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Userinfo in an absolute URL: everything between `scheme://` and the authority's last `@`. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/** Decodes %XX (and `+`) until nothing changes; malformed sequences are left as they are. */
export function decodeRepeatedly(text: string): string {
  let current = text.replace(/\+/g, ' ');
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = current.replace(/%[0-9a-f]{2}/gi, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)));
    if (next === current) break;
    current = next;
  }
  return current;
}

export function isCredentialName(rawName: string): boolean {
  const name = decodeRepeatedly(rawName).toLowerCase().replace(/[^a-z0-9]/g, '');
  return name !== '' && CREDENTIAL_NAME.test(name);
}

function isCredentialValue(rawValue: string): boolean {
  return CREDENTIAL_VALUE.test(decodeRepeatedly(rawValue).trim());
}

/** `a=1&access_token=x;b=2` with credential values replaced; separators kept. */
function redactParameters(query: string): string {
  return query
    .split(/([&;])/)
    .map((part) => {
      if (part === '&' || part === ';' || part === '') return part;
      const equals = part.indexOf('=');
      const name = equals === -1 ? part : part.slice(0, equals);
      const value = equals === -1 ? '' : part.slice(equals + 1);
      if (equals === -1) return isCredentialValue(name) ? REDACTED : part;
      return isCredentialName(name) || isCredentialValue(value) ? `${name}=${REDACTED}` : part;
    })
    .join('');
}

/** A URL (absolute or a request target such as `/path?query`) safe to log. */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? null : url.slice(hash + 1);
  const question = beforeHash.indexOf('?');
  let base = question === -1 ? beforeHash : beforeHash.slice(0, question);
  const query = question === -1 ? null : beforeHash.slice(question + 1);
  base = base.replace(USERINFO, `$1${REDACTED}@`);
  return `${base}${query === null ? '' : `?${redactParameters(query)}`}${fragment === null ? '' : `#${redactParameters(fragment)}`}`;
}

/** Free text with every absolute URL in it redacted. */
export function redactUrlsInText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
