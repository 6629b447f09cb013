/**
 * The connector config's `console` section (zod): sign-in through the customer's OpenID Connect IdP.
 * Local accounts (`airlock console add-admin`) always stay as break-glass.
 *
 * @example
 * console:
 *   oidc:
 *     issuer: https://login.acme.example
 *     clientId: airlock-console
 *     clientSecret: "…"   # omit for a public client (PKCE only)
 *     roleClaim: groups
 *     roleMap: { airlock-admins: admin, claims-leads: supervisor, internal-audit: auditor }
 */
import { z } from 'zod';
import { DEFAULT_OIDC_ROLE_CLAIM, DEFAULT_OIDC_SCOPE } from './oidc-sign-in.js';

export const consoleOidcSchema = z.strictObject({
  /** The IdP's issuer (HTTPS); discovery at `<issuer>/.well-known/openid-configuration`. */
  issuer: z.url().refine((u) => u.startsWith('https://'), { message: 'the issuer must be an https:// URL' }),
  clientId: z.string().min(1),
  /** Confidential client (client_secret_basic); omit for a public client. */
  clientSecret: z.string().min(1).optional(),
  /** Claim with the person's groups or roles (string or array). */
  roleClaim: z.string().min(1).default(DEFAULT_OIDC_ROLE_CLAIM),
  /** Claim value → console role; a person with no mapped value is refused. */
  roleMap: z
    .record(z.string().min(1), z.enum(['admin', 'supervisor', 'auditor']))
    .refine((m) => Object.keys(m).length > 0, { message: 'map at least one claim value to a role' }),
  /** Claim values whose holders may reveal personal data in approvals (each reveal is audited). */
  revealPii: z.array(z.string().min(1)).optional(),
  scope: z.string().min(1).default(DEFAULT_OIDC_SCOPE),
  /** Callback registered at the IdP; default `<console origin>/login/oidc/callback`. */
  redirectUri: z.url().optional(),
  /** Sign-in button text. */
  label: z.string().min(1).max(100).optional(),
});

export const consoleConfigSchema = z.strictObject({
  oidc: consoleOidcSchema.optional(),
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;
