// A real OAuth2 authorization server (oidc-provider 8, an OpenID certified implementation;
// 8 is the major that supports Node.js 20, 9 warns "Unsupported runtime" below Node 22)
// for Syncline's tests: the client credentials grant, opaque access tokens with a
// configurable lifetime (so a test can let a token expire mid-run), RFC 7662
// introspection (the REST and OData test servers check tokens there) and RFC 7009
// revocation (so a test can revoke a token mid-run).
//
// Usage: node server.js [--host 127.0.0.1] [--port 0]
//   OAUTH_CLIENTS    JSON array of oidc-provider client metadata, e.g.
//                    [{"client_id": "a", "client_secret": "s"}] or, for private_key_jwt,
//                    [{"client_id": "b", "token_endpoint_auth_method": "private_key_jwt",
//                      "jwks": {"keys": [<public JWK>]}}]
//   OAUTH_TOKEN_TTL  access token lifetime in seconds (default 300)
// Once listening it prints one JSON line {"issuer", "port"} on stdout. GET /_stats
// answers {"tokenRequests", "tokensIssued", "introspections", "revocations"}; POST
// /_revoke_all ends every token issued so far (tests revoke the engine's token mid-run).
//
// The issuer is plain http on loopback: oidc-provider only insists on https for the
// cookies of interactive flows, which this server does not offer.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
const ttl = Number(process.env.OAUTH_TOKEN_TTL || 300);
const clients = JSON.parse(process.env.OAUTH_CLIENTS || '[]').map((c) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'api read write',
  token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'private_key_jwt',
  ...c,
}));

// Signing keys made at start: nothing on disk, and no "development keys" warning.
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

const stats = { tokenRequests: 0, tokensIssued: 0, introspections: 0, revocations: 0 };
const issued = [];
const server = createServer();
server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  const issuer = `http://${args.host}:${port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256', kid: 'k1' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['api', 'read', 'write'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/_stats') {
      ctx.body = stats;
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/_revoke_all') {
      // Test control: every token issued so far stops being active (as if revoked).
      for (const value of issued.splice(0)) {
        const token = await provider.ClientCredentials.find(value);
        if (token) await token.destroy();
      }
      ctx.status = 204;
      return;
    }
    await next();
    if (ctx.method !== 'POST') return;
    if (ctx.path === '/token') {
      stats.tokenRequests += 1;
      if (ctx.status === 200) {
        stats.tokensIssued += 1;
        issued.push(ctx.body.access_token);
      }
    } else if (ctx.path === '/token/introspection') {
      stats.introspections += 1;
    } else if (ctx.path === '/token/revocation') {
      stats.revocations += 1;
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
