import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe convention: `X-Solaris-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is inside the signed string, so a receiver that checks it against its clock (replay window)
 * refuses an old captured request. See docs/webhooks.md for a receiver's verification snippet.
 */
export const SIGNATURE_HEADER = 'x-solaris-signature';
export const TIMESTAMP_HEADER = 'x-solaris-timestamp';
export const EVENT_ID_HEADER = 'x-solaris-event-id';
export const EVENT_TYPE_HEADER = 'x-solaris-event-type';
/** Default replay window a receiver should accept (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

/** Receiver side (also used by our tests of the signer itself): constant-time compare plus replay window. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const kv of header.split(',')) {
    const i = kv.indexOf('=');
    if (i > 0) parts.set(kv.slice(0, i).trim(), [...(parts.get(kv.slice(0, i).trim()) ?? []), kv.slice(i + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isSafeInteger(t)) return false;
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signatureOf(secret, t, body), 'hex');
  return (parts.get('v1') ?? []).some((v) => {
    const got = Buffer.from(v, 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/** A new endpoint secret (shown to the admin once). */
export function newWebhookSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64url');
}

// RFC 4122 name-based (v5) UUIDs: one natural key (e.g. "threshold:<user>:<period>:80") always maps to the
// same event id, so the same event raised twice — by two replicas, or after a retry — is delivered once.
const NAMESPACE = Buffer.from('5d1b6f0c8a3e4c2b9f7d1e0a2b3c4d5e', 'hex');
export function eventIdFor(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
