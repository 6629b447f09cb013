/**
 * IP addresses: dotted-quad IPv4 and IPv6 (full, compressed, with an embedded IPv4 or a zone), each
 * candidate confirmed with `node:net` `isIP`. Version strings ("v1.2.3.4", "version 10.0.0.1") are
 * not addresses. The unspecified and loopback IPv6 forms (`::`, `::1`) are ignored.
 *
 * @example
 * ipDetector().detect('login from 203.0.113.7 and 2001:db8::1')
 * // two spans: '203.0.113.7' (IPv4) and '2001:db8::1' (IPv6)
 */
import { isIP } from 'node:net';
import { PII_PRIORITY, type PiiDetector, type PiiSpan } from '../pii-types.js';
import { detectedSpan, type SpanKind } from './detected-span.js';

/** IP addresses: lower-case canonical form (IPv6 hex digits). */
const IP_SPAN: SpanKind = {
  class: 'IP',
  detector: 'ip',
  priority: PII_PRIORITY.ip,
  normalize: (value) => value.toLowerCase(),
};

const IPV4 = /(?<![\p{L}\p{N}.])(?:\d{1,3}\.){3}\d{1,3}(?![\p{N}]|\.\d)/gu;
const IPV6 =
  /(?<![\p{L}\p{N}:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%[\p{L}\p{N}]+)?(?![\p{L}\p{N}:])/gu;
const VERSION_CUE = /(?:\bv|\bver\.?|\bversion|\brelease|\bbuild)\s*$/i;

export function ipDetector(): PiiDetector {
  return {
    name: 'ip',
    classes: ['IP'],
    detect(text) {
      const spans: PiiSpan[] = [];
      if (text.includes('.')) {
        for (const m of text.matchAll(IPV4)) {
          if (isIP(m[0]) !== 4) continue;
          if (VERSION_CUE.test(text.slice(Math.max(0, m.index - 12), m.index))) continue;
          spans.push(detectedSpan(IP_SPAN, m.index, m[0], 0.9));
        }
      }
      if (text.includes(':')) {
        for (const m of text.matchAll(IPV6)) {
          const value = m[0];
          const bare = value.split('%')[0] ?? '';
          if (isIP(bare) !== 6) continue;
          if (bare === '::' || bare === '::1' || (bare.match(/[0-9A-Fa-f]+/g) ?? []).length < 2) continue;
          spans.push(detectedSpan(IP_SPAN, m.index, value, 0.9));
        }
      }
      return spans;
    },
  };
}
