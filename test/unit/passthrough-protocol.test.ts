import { decodeFrontend, decodeInitial, encode, type Frame, Framer, ProtocolError } from '../../src/passthrough/protocol';
import { Oid } from '../../src/passthrough/types';
import { binaryToText, textToBinary, toText } from '../../src/passthrough/values';
import { captured as fixture, decodeBackend as parseBackend } from '../fixtures/pgwire/wire';

function frames(bytes: Buffer, chunk = bytes.length): Frame[] {
  const f = new Framer(1024 * 1024);
  const out: Frame[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...f.push(bytes.subarray(i, i + chunk)));
  return out;
}

describe('pg wire codec: frontend messages from real clients', () => {
  it('decodes node-postgres\' startup and extended query (Parse/Bind/Describe/Execute/Sync), whole or byte by byte', () => {
    for (const chunk of [Infinity, 1, 7]) {
      const [startup, ...rest] = frames(fixture('node-pg-extended.json'), chunk === Infinity ? undefined : chunk);
      expect(startup!.phase).toBe('initial');
      expect(decodeInitial(startup!.body)).toEqual({ kind: 'startup', minor: 0,
        params: { user: 'postgres', database: 'postgres', application_name: 'capture', client_encoding: 'UTF8' } });
      const msgs = rest.map((f) => (f.phase === 'typed' ? decodeFrontend(f.type, f.body) : undefined));
      expect(msgs.map((m) => m?.type)).toEqual(['Parse', 'Bind', 'Describe', 'Execute', 'Sync', 'Terminate']);
      expect(msgs[0]).toEqual({ type: 'Parse', name: '', sql: 'SELECT $1::text AS a, $2::int AS b', paramTypes: [] });
      const bind = msgs[1] as Extract<typeof msgs[number], { type: 'Bind' }>;
      expect(bind.params.map((p) => p?.toString())).toEqual(['x', '42']);
      expect(msgs[2]).toEqual({ type: 'Describe', target: 'P', name: '' });
      expect(msgs[3]).toEqual({ type: 'Execute', portal: '', maxRows: 0 });
    }
  });

  it('decodes psql\'s startup and a two-statement simple Query', () => {
    const [startup, query, terminate] = frames(fixture('psql-simple.json'));
    expect(decodeInitial(startup!.body)).toMatchObject({ kind: 'startup', params: { user: 'postgres', application_name: 'psql' } });
    expect(query!.phase === 'typed' && decodeFrontend(query!.type, query!.body)).toEqual({ type: 'Query', sql: "select 1 /* ; drop table x */; select 'a;b'" });
    expect(terminate!.phase === 'typed' && terminate!.type).toBe(0x58);
  });

  it('decodes SSLRequest, GSSENCRequest and CancelRequest', () => {
    const req = (code: number, ...extra: number[]) => {
      const b = Buffer.alloc(4 + 4 * extra.length);
      b.writeInt32BE(code, 0);
      extra.forEach((x, i) => b.writeInt32BE(x, 4 + 4 * i));
      return b;
    };
    expect(decodeInitial(req(80877103))).toEqual({ kind: 'ssl' });
    expect(decodeInitial(req(80877104))).toEqual({ kind: 'gssenc' });
    expect(decodeInitial(req(80877102, 1234, -5))).toEqual({ kind: 'cancel', pid: 1234, secret: -5 });
    expect(() => decodeInitial(req(2 << 16))).toThrow(/unsupported frontend protocol 2.0/);
  });

  it('refuses bad lengths as soon as the header arrives, without buffering the body', () => {
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(1 << 30);
    expect(() => new Framer(1024).push(huge)).toThrow(/invalid length of startup packet/);
    const f = new Framer(1024);
    f.untyped = false;
    const typed = Buffer.from([0x51, 0x40, 0, 0, 0]); // 'Q' + 1 GiB
    expect(() => f.push(typed)).toThrow(/exceeds the 1024-byte limit/);
    const g = new Framer(1024);
    g.untyped = false;
    expect(() => g.push(Buffer.from([0x51, 0, 0, 0, 3]))).toThrow(ProtocolError);
    expect(() => new Framer(1024).push(Buffer.from([0, 0, 0, 4]))).toThrow(/startup packet/);
  });

  it('rejects malformed bodies with ProtocolError', () => {
    expect(() => decodeFrontend(0x51, Buffer.from('no terminator'))).toThrow(ProtocolError);
    expect(() => decodeFrontend(0x42, Buffer.from([0, 0, 0x7f, 0xff]))).toThrow(ProtocolError); // 32767 formats claimed
    expect(() => decodeFrontend(0x44, Buffer.from('X\0'))).toThrow(/DESCRIBE message subtype/);
    expect(() => decodeFrontend(0x21, Buffer.alloc(0))).toThrow(/invalid frontend message type 33/);
    expect(() => decodeFrontend(0x53, Buffer.from([1]))).toThrow(ProtocolError);
  });
});

describe('pg wire codec: backend messages read back by node-postgres', () => {
  it('encodes authentication, parameters, keys, rows and errors', () => {
    const bytes = Buffer.concat([
      encode.authSasl(['SCRAM-SHA-256']), encode.authSaslContinue('r=abc,s=c2FsdA==,i=4096'), encode.authSaslFinal('v=xyz'),
      encode.authOk(), encode.parameterStatus('server_version', '15.0'), encode.backendKeyData(42, -7),
      encode.rowDescription([{ name: 'n', typeOid: Oid.int8, typeSize: 8, format: 0 }, { name: 'é', typeOid: Oid.text, typeSize: -1, format: 0 }]),
      encode.dataRow([Buffer.from('1'), null]), encode.commandComplete('SELECT 1'),
      encode.error({ severity: 'ERROR', code: '42501', message: 'no', hint: 'h', position: 3 }),
      encode.parameterDescription([25, 20]), encode.noData(), encode.parseComplete(), encode.bindComplete(),
      encode.portalSuspended(), encode.emptyQuery(), encode.readyForQuery('T'),
    ]);
    const msgs = parseBackend(bytes) as unknown as Array<Record<string, unknown>>;
    expect(msgs.map((m) => m['name'])).toEqual(['authenticationSASL', 'authenticationSASLContinue', 'authenticationSASLFinal',
      'authenticationOk', 'parameterStatus', 'backendKeyData', 'rowDescription', 'dataRow', 'commandComplete', 'error',
      'parameterDescription', 'noData', 'parseComplete', 'bindComplete', 'portalSuspended', 'emptyQuery', 'readyForQuery']);
    expect(msgs[0]).toMatchObject({ mechanisms: ['SCRAM-SHA-256'] });
    expect(msgs[5]).toMatchObject({ processID: 42, secretKey: -7 });
    expect((msgs[6]!['fields'] as Array<{ name: string; dataTypeID: number }>).map((f) => [f.name, f.dataTypeID])).toEqual([['n', 20], ['é', 25]]);
    expect(msgs[7]).toMatchObject({ fields: ['1', null] });
    expect(msgs[9]).toMatchObject({ severity: 'ERROR', code: '42501', message: 'no', hint: 'h', position: '3' });
    expect(msgs[10]).toMatchObject({ dataTypeIDs: [25, 20] });
    expect(msgs[16]).toMatchObject({ status: 'T' });
  });
});

describe('value formats', () => {
  it('prints engine values the way Postgres does in text format', () => {
    expect(toText(true)).toBe('t');
    expect(toText(1.5)).toBe('1.5');
    expect(toText(1e21)).toBe('1e+21');
    expect(toText(1e-7)).toBe('1e-07');
    expect(toText(Number.NaN)).toBe('NaN');
    expect(toText(['a', null, 'b c', '', 'NULL', 'q"\\'])).toBe('{a,NULL,"b c","","NULL","q\\"\\\\"}');
    expect(toText({ a: 1 })).toBe('{"a":1}');
    expect(toText(Buffer.from([1, 255]))).toBe('\\x01ff');
    expect(toText(null)).toBeNull();
  });

  it.each([
    [Oid.int2, '-12'], [Oid.int4, '2147483647'], [Oid.int8, '-9007199254740993'], [Oid.float8, '0.1'], [Oid.float4, '1.5'],
    [Oid.bool, 't'], [Oid.text, 'héllo'], [Oid.date, '2026-10-05'], [Oid.timestamptz, '2026-10-05 14:03:07.123456+00'],
    [Oid.timestamp, '1999-12-31 23:59:59.000001'], [Oid.numeric, '12.50'], [Oid.numeric, '-0.00001'],
    [Oid.numeric, '123456789.0123456789'], [Oid.numeric, '0'], [Oid.numeric, '10000'], [Oid.uuid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    [Oid.bytea, '\\x00ff'], [Oid.jsonb, '{"a": 1}'],
  ])('binary round trip of type %i: %s', (oid, text) => {
    expect(binaryToText(oid, textToBinary(oid, text))).toBe(text);
  });

  it('encodes numeric and timestamptz in binary exactly as Postgres does', () => {
    // numeric 12.50: ndigits 2, weight 0, sign +, dscale 2, digits 12, 5000
    expect(textToBinary(Oid.numeric, '12.50').toString('hex')).toBe('0002000000000002000c1388');
    // 2000-01-02 00:00:00+00 is 86 400 000 000 µs after the Postgres epoch
    expect(textToBinary(Oid.timestamptz, '2000-01-02 01:00:00+01').readBigInt64BE(0)).toBe(86_400_000_000n);
    expect(textToBinary(Oid.date, '2000-01-01').readInt32BE(0)).toBe(0);
  });
});
