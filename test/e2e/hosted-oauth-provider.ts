/**
 * The MCP SDK's `OAuthClientProvider` as a hosted assistant implements it, headless: a pre-registered
 * public client (the customer registered it at their IdP), PKCE and state kept in memory, DPoP when
 * asked, and the "browser redirect" handed to the test IdP's user-agent, which logs in and consents.
 */
import { randomUUID } from 'node:crypto';
import {
  DpopSession,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { AuthorizationResult, OidcIdp } from '../fixtures/oidc-idp.js';

export class HostedOAuthProvider implements OAuthClientProvider {
  #tokens: StoredOAuthTokens | undefined;
  #verifier = '';
  #discovery: OAuthDiscoveryState | undefined;
  #client: StoredOAuthClientInformation;
  #dpop: DpopSession | undefined;
  readonly #state = randomUUID();
  /** Every authorization URL the SDK sent the "user" to. */
  readonly authorizationUrls: URL[] = [];
  /** What the IdP redirected back with (set by `redirectToAuthorization`). */
  callback: AuthorizationResult | undefined;

  constructor(
    private readonly idp: OidcIdp,
    private readonly login: string,
    dpop?: DpopSession,
  ) {
    this.#client = { client_id: idp.clientId, issuer: idp.issuer };
    this.#dpop = dpop;
  }

  static async withDpop(idp: OidcIdp, login: string): Promise<HostedOAuthProvider> {
    return new HostedOAuthProvider(idp, login, await DpopSession.create({ alg: 'ES256' }));
  }

  get redirectUrl(): string {
    return this.idp.redirectUri;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Hosted assistant',
      redirect_uris: [this.idp.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state(): string {
    return this.#state;
  }
  clientInformation(): StoredOAuthClientInformation {
    return this.#client;
  }
  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.#client = info;
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens;
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    this.callback = await this.idp.authorize(url, this.login);
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    return this.#verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }
  dpop(): DpopSession | undefined {
    return this.#dpop;
  }
}
