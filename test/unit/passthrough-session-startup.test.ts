import { loadSqlParser } from '../../src/passthrough/guard/guard';
import { KEY, SessionDriver } from '../fixtures/pgwire/sessionDriver';
import {
  backendFrames, captured, cstr, decodeBackend, i32, scramVerifierFixture, serialize, splitStartup, startupPacket, typed,
} from '../fixtures/pgwire/wire';
import { waitFor } from '../helpers/waitFor';

// The Session state machine driven through SessionTransport with client bytes (captured from psql
// and node-postgres, or made by node-postgres' serializer and SCRAM client), asserting the bytes
// it writes back: startup, SCRAM-SHA-256, the welcome, refusals and protocol violations before
// authentication.

beforeAll(async () => loadSqlParser());

const salt = scramVerifierFixture().verifier.split('$')[1]!.split(':')[1]!;

describe('Session: startup and SCRAM-SHA-256', () => {
  it('answers psql\'s captured startup with AuthenticationSASL, runs SCRAM, and welcomes the client byte for byte', async () => {
    const d = new SessionDriver();
    const [startup] = splitStartup(captured('psql-simple.json'));
    const { sasl, serverFirst, final, client } = await d.login('postgres', undefined, startup);

    expect(sasl).toEqual(typed('R', Buffer.concat([i32(10), cstr('SCRAM-SHA-256'), Buffer.from([0])])));
    const [cont] = decodeBackend(serverFirst);
    expect(cont).toMatchObject({ name: 'authenticationSASLContinue' });
    expect(String(cont!['data'])).toMatch(new RegExp(`^r=[A-Za-z0-9+/=]+,s=${salt.replace(/[+/]/g, '\\$&')},i=4096$`));

    const frames = backendFrames(final);
    expect(frames.map((f) => f.type).join('')).toBe(`RR${'S'.repeat(13)}KZ`);
    const [saslFinal, ...rest] = decodeBackend(final);
    expect(() => client.verifyServerFinal(String(saslFinal!['data']))).not.toThrow();
    expect(frames[1]!.bytes).toEqual(typed('R', i32(0)));
    expect(rest.filter((m) => m.name === 'parameterStatus').map((m) => [m['parameterName'], m['parameterValue']])).toEqual([
      ['server_version', '15.0'], ['server_encoding', 'UTF8'], ['client_encoding', 'UTF8'], ['DateStyle', 'ISO, MDY'],
      ['TimeZone', 'UTC'], ['integer_datetimes', 'on'], ['standard_conforming_strings', 'on'], ['IntervalStyle', 'postgres'],
      ['is_superuser', 'off'], ['session_authorization', 'postgres'], ['application_name', 'psql'],
      ['default_transaction_read_only', 'on'], ['in_hot_standby', 'off'],
    ]);
    expect(frames[15]!.bytes).toEqual(typed('K', Buffer.concat([i32(KEY.pid), i32(KEY.secret)])));
    expect(frames[16]!.bytes).toEqual(typed('Z', Buffer.from('I')));

    expect(d.session.pid).toBe(KEY.pid);
    expect(d.registry.registered).toEqual([d.session]);
    expect(d.audit()).toEqual([{ msg: 'sql login', user: 'postgres', role: 'ops', pid: KEY.pid, remote: d.transport.remote, tls: false, outcome: 'ok' }]);
  });

  it('asks for protocol negotiation when the client wants 3.1 or _pq_ options, and applies -c options', async () => {
    const d = new SessionDriver();
    const startup = startupPacket({ user: 'rita', '_pq_.compress': 'on', options: '-c application_name=bi\\ tool --search_path=public' }, (3 << 16) | 1);
    const { sasl, final } = await d.login('rita', undefined, startup);
    expect(backendFrames(sasl).map((f) => f.type).join('')).toBe('vR');
    expect(backendFrames(sasl)[0]!.bytes).toEqual(typed('v', Buffer.concat([i32(0), i32(1), cstr('_pq_.compress')])));
    expect(decodeBackend(final).find((m) => m['parameterName'] === 'application_name')).toMatchObject({ parameterValue: 'bi tool' });
    d.send(serialize.query('SHOW search_path'));
    expect(decodeBackend(await d.read()).find((m) => m.name === 'dataRow')).toMatchObject({ fields: ['public'] });
  });

  it('refuses a wrong password and an unknown user with the same FATAL 28P01, and closes', async () => {
    for (const [user, password, reason] of [['rita', 'not-it', 'password does not match'], ['mallory', 'whatever', 'unknown user']] as const) {
      const d = new SessionDriver();
      const { final } = await d.login(user, password);
      expect(decodeBackend(final)).toEqual([expect.objectContaining({
        name: 'error', severity: 'FATAL', code: '28P01', message: `password authentication failed for user "${user}"`,
      })]);
      expect(d.transport.closed).toBe(true);
      expect(d.registry.registered).toEqual([]);
      expect(d.audit()).toEqual([{ msg: 'sql login refused', user, remote: d.transport.remote, reason, outcome: 'auth_failed' }]);
    }
  });

  it('answers SSLRequest and GSSENCRequest with N when there is no certificate; then the startup proceeds', async () => {
    const d = new SessionDriver();
    d.send(serialize.requestSsl());
    expect((await d.readRaw(1)).toString('latin1')).toBe('N');
    d.send(Buffer.concat([i32(8), i32(80877104)]));
    expect((await d.readRaw(1)).toString('latin1')).toBe('N');
    const { final } = await d.login('rita');
    expect(backendFrames(final).at(-1)!.bytes).toEqual(typed('Z', Buffer.from('I')));
  });

  it('passes a CancelRequest\'s key to the registry and closes without a word', async () => {
    const d = new SessionDriver();
    d.send(serialize.cancel(KEY.pid, KEY.secret));
    await waitFor(() => d.transport.closed);
    expect(d.transport.bytes).toEqual(Buffer.alloc(0));
    expect(d.registry.cancelled).toEqual([[KEY.pid, KEY.secret]]);
  });

  it.each<[string, string, string, Buffer[]]>([
    ['a 1 GiB startup length', '08P01', 'invalid length of startup packet', [Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0])]],
    ['protocol 2.0', '08P01', 'unsupported frontend protocol 2.0: server supports 3.0', [startupPacket({ user: 'rita' }, 2 << 16)]],
    ['no user name', '28000', 'no PostgreSQL user name specified in startup packet', [startupPacket({ database: 'x' })]],
    ['a replication connection', '0A000', 'replication connections are not supported by the SQL passthrough',
      [startupPacket({ user: 'rita', replication: 'database' })]],
    ['client_encoding LATIN1', '0A000', 'client encoding "LATIN1" is not supported: the SQL passthrough speaks UTF8',
      [startupPacket({ user: 'rita', client_encoding: 'LATIN1' })]],
    ['a startup packet sent along with the SSLRequest', '08P01', 'received unencrypted data after SSL request',
      [Buffer.concat([serialize.requestSsl(), startupPacket({ user: 'rita' })])]],
    ['part of a packet sent along with the SSLRequest', '08P01', 'received unencrypted data after SSL request',
      [Buffer.concat([serialize.requestSsl(), startupPacket({ user: 'rita' }).subarray(0, 6)])]],
    ['a Query instead of the SASL response', '08P01', 'expected SASL response, got Query', [startupPacket({ user: 'rita' }), serialize.query('SELECT 1')]],
    ['a malformed SASLInitialResponse', '08P01', 'invalid SASLInitialResponse message format',
      [startupPacket({ user: 'rita' }), typed('p', Buffer.from('garbage'))]],
    ['a SASLInitialResponse whose length field lies', '08P01', 'invalid SASLInitialResponse message format',
      [startupPacket({ user: 'rita' }), typed('p', Buffer.concat([cstr('SCRAM-SHA-256'), i32(99), Buffer.from('n,,n=*,r=abc')]))]],
  ])('before authentication, %s: FATAL %s and the connection closed', async (_what, code, message, chunks) => {
    const d = new SessionDriver();
    for (const chunk of chunks) d.send(chunk);
    const reply = await d.read();
    expect(d.transport.closed).toBe(true);
    expect(decodeBackend(reply).filter((m) => m.name === 'error')).toEqual([expect.objectContaining({ severity: 'FATAL', code, message })]);
    expect(d.registry.registered).toEqual([]);
  });

  it('closes a connection that does not authenticate within the auth timeout (08P01)', async () => {
    const d = new SessionDriver({ authTimeoutMs: 20 });
    d.send(startupPacket({ user: 'rita' }));
    const reply = await d.read((t) => t.includes('E'));
    expect(decodeBackend(reply).at(-1)).toMatchObject({ name: 'error', severity: 'FATAL', code: '08P01', message: 'authentication timeout' });
    expect(d.transport.closed).toBe(true);
  });
});
