// The production Temporal UI signs people in with OIDC and forwards each one's access token to /codec
// (TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true in docker-compose.yml and deploy/k8s/temporal-ui.yaml). Here a token
// shaped like the one a Keycloak realm issues to the UI's client (audience mapper, realm roles) is sent the way
// the UI's browser code sends it: a CORS preflight from the UI's origin, then the decode with the bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeIdentityProvider, startFakeIdentityProvider } from './fakes/identity-provider.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const UI_ORIGIN = 'https://temporal-ui.example.com';
const AUDIENCE = 'conduit';

let idp: FakeIdentityProvider;
let platform: TestPlatform;
let sealed: unknown;

beforeAll(async () => {
  idp = await startFakeIdentityProvider();
  platform = await startTestPlatform(
    {
      OIDC_ISSUER: idp.issuer,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_ROLE_CLAIM: 'realm_access.roles',
      TEMPORAL_UI_ORIGIN: UI_ORIGIN,
    },
    { worker: false },
  );
  const encoded = await platform.api('/codec/encode', {
    method: 'POST',
    body: JSON.stringify({ payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"the reply"') }] }),
  });
  expect(encoded.status).toBe(200);
  sealed = await encoded.json();
});
afterAll(async () => {
  await platform?.stop();
  await idp?.stop();
});

/** The access token the UI holds after its OIDC sign-in (Keycloak's shape: azp, scope, realm_access.roles). */
const accessToken = (claims: Record<string, unknown>) =>
  idp.sign({ aud: [AUDIENCE, 'account'], azp: 'temporal-ui', scope: 'openid profile email', ...claims });

const decode = (token: string, path = 'decode') =>
  fetch(`${platform.apiUrl}/codec/${path}`, {
    method: 'POST',
    headers: {
      origin: UI_ORIGIN,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-namespace': 'default',
    },
    body: JSON.stringify(sealed),
  });

describe('the codec endpoint behind the signed-in Temporal UI', () => {
  it('lets the UI origin send the token (CORS preflight)', async () => {
    const preflight = await fetch(`${platform.apiUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('decodes for a signed-in user whose role may decode, and for nobody else', async () => {
    const viewer = await decode(await accessToken({ sub: 'li.si', realm_access: { roles: ['viewer'] } }));
    expect(viewer.status).toBe(200);
    expect(viewer.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const [payload] = ((await viewer.json()) as { payloads: Array<{ data: string }> }).payloads;
    expect(Buffer.from(payload!.data, 'base64').toString()).toBe('"the reply"');

    // Signed in, but granted no Conduit role: refused like no credential, and the UI shows the payloads encrypted.
    expect((await decode(await accessToken({ sub: 'guest', realm_access: { roles: [] } }))).status).toBe(401);
    // A token for another audience (the UI's ID token, say) or from a key the provider never published.
    const otherAudience = await idp.sign({ aud: 'temporal-ui', realm_access: { roles: ['viewer'] } });
    expect((await decode(otherAudience)).status).toBe(401);
    const forged = await idp.signWithStrangerKey({ aud: AUDIENCE, realm_access: { roles: ['admin'] } });
    expect((await decode(forged)).status).toBe(401);
    // Decoding is all a viewer may do.
    const viewerToken = await accessToken({ realm_access: { roles: ['viewer'] } });
    expect((await decode(viewerToken, 'encode')).status).toBe(403);
  });
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
