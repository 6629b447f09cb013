/**
 * Console sign-in through the customer's OpenID Connect IdP (authorization code flow with PKCE S256,
 * `state` and `nonce`), with `openid-client`. Local accounts stay as break-glass.
 *
 * Who signs in: the ID token's claims (or the userinfo endpoint's, when the ID token lacks the role
 * claim) are mapped to a console role through `roleMap` (claim value → `admin` | `supervisor` |
 * `auditor`; the strongest match wins; no match → refused). The person gets a console account named
 * `sso.<preferred_username | email | sub>` whose password hash is a marker bound to the issuer and
 * subject, so it can never sign in with a password, an IdP user can never take over a local account
 * (or another subject's account) of the same name, and an admin can still disable it
 * (`airlock console disable`), which then refuses its IdP sign-in too. Role and PII permission are
 * updated at every sign-in; sessions re-read the account on every request as for local accounts.
 *
 * @example
 * const oidc = new ConsoleOidc({ issuer: 'https://idp.acme.example', clientId: 'airlock-console', roleMap: { 'airlock-admins': 'admin' } }, { store: store.adminAccounts });
 * const { url, flowId } = await oidc.start('https://console.acme.internal/login/oidc/callback', '/approvals');
 * const { account, next } = await oidc.finish(flowId, new URL(callbackUrl));
 */
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { AirlockError } from '../errors/airlock-error.js';
import type { AdminAccountRecord, AdminAccountRepository, AdminRole } from '../store/store.js';

/** How long a started sign-in may take at the IdP. */
export const DEFAULT_OIDC_FLOW_TTL_MS = 10 * 60 * 1000;
/** Most sign-ins in progress kept (the oldest is dropped beyond it). */
export const DEFAULT_OIDC_MAX_FLOWS = 1_000;
/** Scopes asked for. */
export const DEFAULT_OIDC_SCOPE = 'openid profile email';
/** The claim carrying the person's groups or roles. */
export const DEFAULT_OIDC_ROLE_CLAIM = 'groups';
/** Timeout of requests to the IdP (discovery, token, userinfo), in seconds. */
export const DEFAULT_OIDC_TIMEOUT_S = 10;
/** Prefix of console accounts made for IdP users. */
export const OIDC_ACCOUNT_PREFIX = 'sso.';

/** Connector config `console.oidc`. */
export interface ConsoleOidcOptions {
  /** The IdP's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer: string;
  clientId: string;
  /** Confidential client (`client_secret_basic`); without it a public client with PKCE only. */
  clientSecret?: string;
  /** Default {@link DEFAULT_OIDC_ROLE_CLAIM}. A string or an array of strings. */
  roleClaim?: string;
  /** Claim value → console role, e.g. `{ "airlock-admins": "admin", "claims-leads": "supervisor" }`. */
  roleMap: Readonly<Record<string, AdminRole>>;
  /** Claim values whose holders may reveal personal data in approvals. Default none. */
  revealPii?: readonly string[];
  /** Default {@link DEFAULT_OIDC_SCOPE}. */
  scope?: string;
  /** Callback URL registered at the IdP. Default `<console origin>/login/oidc/callback`. */
  redirectUri?: string;
  /** Text of the sign-in button. Default "Sign in with your organisation". */
  label?: string;
  /** Allow an `http://` issuer (a loopback test IdP only). Default false. */
  allowHttpIssuer?: boolean;
  /** Default {@link DEFAULT_OIDC_FLOW_TTL_MS}. */
  flowTtlMs?: number;
  /** Default {@link DEFAULT_OIDC_MAX_FLOWS}. */
  maxFlows?: number;
  /** Default {@link DEFAULT_OIDC_TIMEOUT_S}. */
  timeoutSeconds?: number;
}

/** A refused IdP sign-in; `code` is one of `AIRLOCK_CONSOLE_OIDC_*`. */
export class ConsoleOidcError extends AirlockError {}

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
  redirectUri: string;
  startedAt: number;
}

const ROLE_STRENGTH: Record<AdminRole, number> = { auditor: 1, supervisor: 2, admin: 3 };

/** See the module comment. */
export class ConsoleOidc {
  readonly label: string;
  readonly #o: ConsoleOidcOptions;
  readonly #accounts: AdminAccountRepository;
  readonly #now: () => number;
  readonly #flows = new Map<string, Flow>();
  #config: Promise<client.Configuration> | undefined;

  constructor(options: ConsoleOidcOptions, deps: { store: AdminAccountRepository; now?: () => number }) {
    this.#o = options;
    this.#accounts = deps.store;
    this.#now = deps.now ?? Date.now;
    this.label = options.label ?? 'Sign in with your organisation';
  }

  /** Starts a sign-in: the IdP URL to send the browser to, and the flow id for a cookie. */
  async start(redirectUri: string, next: string): Promise<{ url: URL; flowId: string }> {
    const config = await this.#configuration();
    const flow: Flow = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      next,
      redirectUri: this.#o.redirectUri ?? redirectUri,
      startedAt: this.#now(),
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: flow.redirectUri,
      scope: this.#o.scope ?? DEFAULT_OIDC_SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    const flowId = randomBytes(24).toString('base64url');
    this.#remember(flowId, flow);
    return { url, flowId };
  }

  /** Finishes a sign-in at the callback URL: the (created or updated) console account and where to go. */
  async finish(
    flowId: string | undefined,
    callbackUrl: URL,
  ): Promise<{ account: AdminAccountRecord; next: string }> {
    const flow = flowId ? this.#flows.get(flowId) : undefined;
    if (flowId) this.#flows.delete(flowId);
    if (!flow || this.#now() - flow.startedAt > (this.#o.flowTtlMs ?? DEFAULT_OIDC_FLOW_TTL_MS)) {
      throw new ConsoleOidcError(
        'AIRLOCK_CONSOLE_OIDC_FLOW',
        'This sign-in was not started here or took too long; please sign in again.',
      );
    }
    const config = await this.#configuration();
    const current = new URL(flow.redirectUri);
    current.search = callbackUrl.search;
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = { ...(tokens.claims() ?? {}) };
      const roleClaim = this.#o.roleClaim ?? DEFAULT_OIDC_ROLE_CLAIM;
      if (claims[roleClaim] === undefined && typeof claims.sub === 'string') {
        Object.assign(claims, await client.fetchUserInfo(config, tokens.access_token, claims.sub));
      }
    } catch (cause) {
      const message = `The identity provider's answer was refused: ${cause instanceof Error ? cause.message : String(cause)}`;
      throw new ConsoleOidcError('AIRLOCK_CONSOLE_OIDC_REFUSED', message, { cause });
    }
    return { account: await this.#provision(claims), next: flow.next };
  }

  /** The console account for these claims (see the module comment). */
  async #provision(claims: Record<string, unknown>): Promise<AdminAccountRecord> {
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const values = claimValues(claims[this.#o.roleClaim ?? DEFAULT_OIDC_ROLE_CLAIM]);
    let role: AdminRole | undefined;
    for (const v of values) {
      const mapped = this.#o.roleMap[v];
      if (mapped && (!role || ROLE_STRENGTH[mapped] > ROLE_STRENGTH[role])) role = mapped;
    }
    if (!sub || !role) {
      throw new ConsoleOidcError(
        'AIRLOCK_CONSOLE_OIDC_NO_ROLE',
        'Your organisation account has no role in this console. Ask an administrator to add your group to console.oidc.roleMap.',
      );
    }
    const name = accountName(claims);
    const marker = `oidc$${createHash('sha256').update(`${this.#o.issuer}\n${sub}`).digest('hex')}`;
    const existing = await this.#accounts.getAdminAccount(name);
    if (existing && existing.passwordHash !== marker) {
      throw new ConsoleOidcError(
        'AIRLOCK_CONSOLE_OIDC_ACCOUNT_CONFLICT',
        `The console account ${name} belongs to someone else; ask an administrator.`,
      );
    }
    if (existing?.disabledAt) {
      throw new ConsoleOidcError(
        'AIRLOCK_CONSOLE_OIDC_ACCOUNT_DISABLED',
        `The console account ${name} was disabled by an administrator.`,
      );
    }
    const revealPii = values.some((v) => this.#o.revealPii?.includes(v) ?? false);
    await this.#accounts.putAdminAccount({ name, passwordHash: marker, role, revealPii }, this.#now());
    const account = await this.#accounts.getAdminAccount(name);
    if (!account)
      throw new ConsoleOidcError(
        'AIRLOCK_CONSOLE_OIDC_ACCOUNT',
        `The console account ${name} could not be stored.`,
      );
    return account;
  }

  #remember(flowId: string, flow: Flow): void {
    const ttl = this.#o.flowTtlMs ?? DEFAULT_OIDC_FLOW_TTL_MS;
    for (const [id, f] of this.#flows) if (flow.startedAt - f.startedAt > ttl) this.#flows.delete(id);
    this.#flows.set(flowId, flow);
    while (this.#flows.size > (this.#o.maxFlows ?? DEFAULT_OIDC_MAX_FLOWS)) {
      const oldest = this.#flows.keys().next().value;
      if (oldest === undefined) break;
      this.#flows.delete(oldest);
    }
  }

  #configuration(): Promise<client.Configuration> {
    this.#config ??= this.#discover().catch((cause: unknown) => {
      this.#config = undefined;
      const message = `The identity provider ${this.#o.issuer} could not be reached: ${cause instanceof Error ? cause.message : String(cause)}`;
      throw new ConsoleOidcError('AIRLOCK_CONSOLE_OIDC_DISCOVERY', message, { cause, retryable: true });
    });
    return this.#config;
  }

  #discover(): Promise<client.Configuration> {
    const o = this.#o;
    const auth = o.clientSecret ? client.ClientSecretBasic(o.clientSecret) : client.None();
    const insecure = o.allowHttpIssuer && new URL(o.issuer).protocol === 'http:';
    return client.discovery(new URL(o.issuer), o.clientId, o.clientSecret, auth, {
      timeout: o.timeoutSeconds ?? DEFAULT_OIDC_TIMEOUT_S,
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
  }
}

function claimValues(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** `sso.<preferred_username | email | sub>`, reduced to the characters account names may have. */
export function accountName(claims: Record<string, unknown>): string {
  const pick = [claims.preferred_username, claims.email, claims.sub].find((v) => typeof v === 'string' && v);
  const cleaned = String(pick ?? 'user').replace(/[^A-Za-z0-9._@-]/g, '-');
  return `${OIDC_ACCOUNT_PREFIX}${cleaned}`.slice(0, 100);
}
