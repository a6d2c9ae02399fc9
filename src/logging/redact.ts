/**
 * Redaction helpers applied to everything that reaches the logs: secrets (headers, URL parameters),
 * phone numbers, and caller/agent text unless LOG_TRANSCRIPTS is on.
 */

export const CENSOR = '****';

/** Header names whose values are credentials. */
export const SECRET_HEADERS = [
  'authorization',
  'cookie',
  'set-cookie',
  'api-key',
  'ocp-apim-subscription-key',
  'x-api-key',
];

/** pino `redact` paths: credential headers and credential-looking fields one level deep. */
export const REDACT_PATHS = [
  ...SECRET_HEADERS.map((h) => `req.headers["${h}"]`),
  ...SECRET_HEADERS.map((h) => `res.headers["${h}"]`),
  '*.apiKey',
  '*.accessKey',
  '*.password',
  '*.secret',
  '*.token',
  '*.connectionString',
  'apiKey',
  'accessKey',
  'password',
  'secret',
  'token',
  'connectionString',
];

const SECRET_QUERY =
  /([?&](?:code|token|sig|signature|key|subscription-key|ocp-apim-subscription-key|api-key|access_token|authorization|accesskey)=)[^&#]*/gi;

/** Masks credential-bearing query parameters (Speech keys and webhook secrets travel in URLs). */
export function redactUrl(url: string): string {
  return url
    .replace(SECRET_QUERY, `$1${CENSOR}`)
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]+@/i, `$1${CENSOR}@`);
}

// E.164 numbers (+ and 7–15 digits), optionally written with spaces or dashes between groups.
const PHONE = /\+\d(?:[\s-]?\d){6,14}/g;

/** Keeps the country/leading digit and the last two digits: "+14255550123" → "+1*******23". */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 4) return CENSOR;
  return `+${digits[0]}${'*'.repeat(digits.length - 3)}${digits.slice(-2)}`;
}

export function maskPhoneNumbers(text: string): string {
  return text.replace(PHONE, (m) => maskPhone(m));
}

/** What a log line may say about caller or agent text. */
export function transcriptForLog(text: string, logTranscripts: boolean): string {
  return logTranscripts ? maskPhoneNumbers(text) : `[${text.length} chars redacted]`;
}

/**
 * A function that removes a secret (as is and URL-encoded) from any text before it reaches a log or an
 * error message; vendors echo keys back in URLs and messages.
 */
export function secretScrubber(secret: string | undefined): (text: string) => string {
  const needles = secret
    ? [secret, encodeURIComponent(secret)].filter((n, i, all) => n.length > 0 && all.indexOf(n) === i)
    : [];
  return (text) => redactUrl(needles.reduce((t, n) => t.split(n).join(CENSOR), text));
}
