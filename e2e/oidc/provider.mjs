// A real OpenID Connect provider on loopback for CoachFlux's tests (oidc-provider, dev
// interactions: any login id, any password). Usage: node provider.mjs <port> <redirect_uri>
// Prints "ready <issuer>" once listening.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;

const client = (id) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('coachflux'), client('another-app')],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // Short ID tokens, so a test can move CoachFlux's clock past their expiry.
  ttl: { IdToken: 60 },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@idp.example`,
      // Accounts named "unverified..." have an address the provider never confirmed.
      email_verified: !id.startsWith('unverified'),
      name: `User ${id}`,
    }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  cookies: { keys: ['coachflux-test-cookie-key'] },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
