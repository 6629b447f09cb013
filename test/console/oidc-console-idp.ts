/**
 * Test fixture: a real OpenID Connect provider (`oidc-provider`) on loopback as the customer's IdP
 * for console sign-in: one confidential client (`client_secret_basic`, authorization code + PKCE)
 * whose redirect URI is set once the console's port is known, people with a `groups` claim (served
 * by the userinfo endpoint), and the provider's development login and consent pages, which the test
 * drives in a real browser. (test/fixtures/oidc-idp.ts is the hosted-agent IdP: one public client
 * and a fixed redirect; its pages are driven over plain HTTP.)
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface ConsoleIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Creates the provider with the console's callback URL as the client's only redirect URI. */
  configure(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

/** login → groups claim. */
export type IdpPeople = Record<string, string[]>;

export async function startConsoleIdp(people: IdpPeople): Promise<ConsoleIdp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503).end('not configured');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'airlock-console';
  const clientSecret = 'console-client-secret-for-tests';
  return {
    issuer,
    clientId,
    clientSecret,
    async configure(redirectUri) {
      const key = await generateKeyPair('ES256', { extractable: true });
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            token_endpoint_auth_method: 'client_secret_basic',
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            id_token_signed_response_alg: 'ES256',
          },
        ],
        jwks: { keys: [{ ...(await exportJWK(key.privateKey)), kid: 'es256', alg: 'ES256', use: 'sig' }] },
        cookies: { keys: ['airlock-console-idp-cookie-key'] },
        claims: { openid: ['sub', 'groups'], profile: ['preferred_username'], email: ['email'] },
        pkce: { required: () => true },
        findAccount: (_ctx: unknown, sub: string) => ({
          accountId: sub,
          claims: () => ({
            sub,
            preferred_username: sub,
            email: `${sub}@acme.example`,
            groups: people[sub] ?? [],
          }),
        }),
        features: { devInteractions: { enabled: true } },
      });
      handler = provider.callback();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
