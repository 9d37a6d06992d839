// A real OpenID Connect provider (panva's oidc-provider) on loopback, for Cartable's tests.
//
//   node provider.mjs --port 9000 --accounts accounts.json \
//        --client-id cartable --client-secret s3cret \
//        --redirect-uri http://127.0.0.1:8000/hub/oauth_callback
//
// Every option may also come from the environment (OIDC_PORT, OIDC_ACCOUNTS,
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI). The accounts file maps
// an account id (what one types in the login form) to its claims:
//   {"j123": {"name": "Yasmine Alaoui", "cartable_role": "eleve", "school": "LYC1", "classes": ["2BSM1"]}}
// The account id is the "sub" claim unless the account gives its own "sub".
//
// The login and consent pages are oidc-provider's own development interactions
// (devInteractions): the login form takes the account id (any password), and the
// consent form grants the requested scopes and claims. Everything else - the
// authorization code flow with PKCE, client authentication, tokens, userinfo,
// RP-initiated logout - is the provider's production code.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT },
    host: { type: 'string', default: process.env.OIDC_HOST || '127.0.0.1' },
    accounts: { type: 'string', default: process.env.OIDC_ACCOUNTS },
    'client-id': { type: 'string', default: process.env.OIDC_CLIENT_ID },
    'client-secret': { type: 'string', default: process.env.OIDC_CLIENT_SECRET },
    'redirect-uri': { type: 'string', default: process.env.OIDC_REDIRECT_URI },
  },
});

for (const key of ['port', 'accounts', 'client-id', 'client-secret', 'redirect-uri']) {
  if (!opts[key]) {
    console.error(`provider.mjs: --${key} is required`);
    process.exit(2);
  }
}

const accounts = JSON.parse(readFileSync(opts.accounts, 'utf8'));
const issuer = `http://${opts.host}:${opts.port}`;
const redirectUri = opts['redirect-uri'];

const configuration = {
  clients: [{
    client_id: opts['client-id'],
    client_secret: opts['client-secret'],
    redirect_uris: [redirectUri],
    // RP-initiated logout returns to the hub's home page.
    post_logout_redirect_uris: [new URL('/hub/', redirectUri).href],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // Custom claims travel with the profile scope, in the userinfo response and the ID token.
  claims: {
    openid: ['sub'],
    profile: ['name', 'cartable_role', 'school', 'classes'],
  },
  scopes: ['openid', 'profile'],
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(Number(opts.port), opts.host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
