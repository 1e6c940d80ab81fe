import { loadSqlPassthroughSettings } from '../../src/config/sql';
import { bundledRegistry } from '../../src/views/load';
import { Admission, addressKey } from '../../src/passthrough/admission';
import { SessionMemory, TotalMemory } from '../../src/passthrough/session/memory';
import { PreparedStore } from '../../src/passthrough/session/portals';
import { LoginThrottle } from '../../src/passthrough/throttle';
import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import { parseSqlUsers } from '../../src/passthrough/users';

// The SQL listener's limits without sockets: admission budgets, the login back-off, the memory
// budgets and their configuration (issue 11 items 2, 8, 9; the sockets are in
// test/integration/passthrough-limits.test.ts).

describe('admission', () => {
  const limits = { maxConnections: 2, maxPending: 3, maxPendingPerAddress: 2, maxConnectionsPerAddress: 3 };

  it('keeps pending and authenticated budgets apart and caps one address', () => {
    const a = new Admission(limits);
    const t1 = a.arrive('10.0.0.1', () => undefined);
    const t2 = a.arrive('10.0.0.1', () => undefined);
    expect(a.arrive('10.0.0.1', () => undefined)).toEqual({ ok: false, message: 'too many connections awaiting authentication from this address' });
    if (!t1.ok || !t2.ok) throw new Error('admitted');
    expect(a.promote(t1.ticket)).toBeUndefined();
    expect(a.promote(t2.ticket)).toBeUndefined();
    expect([a.pending, a.authenticated]).toEqual([0, 2]);
    // Both authenticated slots taken: no point authenticating more.
    expect(a.arrive('10.0.0.2', () => undefined)).toEqual({ ok: false, message: 'sorry, too many clients already' });
    a.leave(t1.ticket);
    a.leave(t1.ticket); // idempotent
    expect(a.authenticated).toBe(1);
    const t3 = a.arrive('10.0.0.1', () => undefined);
    expect(t3.ok).toBe(true);
    // 10.0.0.1 holds t2 (authenticated) and t3 (pending); one more is allowed, then the address cap.
    expect(a.arrive('10.0.0.1', () => undefined).ok).toBe(true);
    expect(a.arrive('10.0.0.1', () => undefined)).toEqual({ ok: false, message: 'too many connections from this address' });
  });

  it('evicts the oldest pending connection when the pending budget is full', () => {
    const a = new Admission({ ...limits, maxConnections: 10 });
    const evicted: string[] = [];
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) a.arrive(ip, () => evicted.push(ip));
    expect(evicted).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(a.pending).toBe(3);
  });

  it('refuses the login of a pending connection when the authenticated slots filled meanwhile', () => {
    const a = new Admission({ ...limits, maxConnections: 1 });
    const t1 = a.arrive('10.0.0.1', () => undefined);
    const t2 = a.arrive('10.0.0.2', () => undefined);
    if (!t1.ok || !t2.ok) throw new Error('admitted');
    expect(a.promote(t1.ticket)).toBeUndefined();
    expect(a.promote(t2.ticket)).toBe('sorry, too many clients already');
  });

  it('counts IPv4-mapped addresses as IPv4 and IPv6 by /64', () => {
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('?');
  });
});

describe('login back-off', () => {
  it('doubles per failure up to the bound, per user and per address, and forgets the user on success', () => {
    const t = new LoginThrottle({ baseMs: 100, maxMs: 1_000, windowMs: 60_000 });
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      delays.push(t.delayMs('ana', '10.0.0.1'));
      t.failed('ana', '10.0.0.1');
    }
    expect(delays).toEqual([0, 100, 200, 400, 800, 1_000, 1_000]);
    expect(t.delayMs('ana', '10.0.0.9')).toBe(1_000); // the user, from anywhere
    expect(t.delayMs('olga', '10.0.0.1')).toBe(1_000); // the address, for anyone
    expect(t.delayMs('olga', '10.0.0.9')).toBe(0); // others: nothing
    t.succeeded('ana');
    expect(t.delayMs('ana', '10.0.0.9')).toBe(0);
    expect(t.delayMs('ana', '10.0.0.1')).toBe(1_000); // the address keeps its failures
    for (let i = 0; i < 2_000; i++) t.failed('ana', '10.0.0.1');
    expect(t.delayMs('ana', '10.0.0.1')).toBe(1_000);
  });

  it('remembers a bounded number of names', () => {
    const t = new LoginThrottle({ baseMs: 100, maxMs: 1_000, windowMs: 60_000, maxEntries: 10 });
    t.failed('victim', '10.0.0.1');
    for (let i = 0; i < 20; i++) t.failed(`random-${i}`, `10.0.1.${i}`);
    expect(t.delayMs('victim', '10.0.0.2')).toBe(0); // evicted: the map did not grow past 10
  });

  it('is off with a base of 0', () => {
    const t = new LoginThrottle({ baseMs: 0, maxMs: 0, windowMs: 60_000 });
    t.failed('ana', 'x');
    expect(t.delayMs('ana', 'x')).toBe(0);
  });
});

describe('prepared statement memory', () => {
  const [user] = parseSqlUsers('olga:pw:ops', bundledRegistry());
  beforeAll(async () => loadSqlParser());
  const statement = (sql: string) => checkSql(sql, { user: user!, maxRows: 100, views: bundledRegistry() })[0]!;

  it('charges statements and portals, refuses beyond the session (54000) and the total (53200), and gives all back', () => {
    const big = statement(`SELECT trip_id FROM trip_history WHERE trip_id <> '${'x'.repeat(10_000)}'`);
    const probe = new PreparedStore(new SessionMemory(new TotalMemory(1e9), 1e9));
    probe.addStatement('s0', { statement: big, paramTypes: [] });
    const size = probe.bytes; // text, rewritten SQL and parse tree: several times the 10 kB of text
    expect(size).toBeGreaterThan(40_000);
    // a session holds 3, the total 4: the second of b's is over the total, not over b's own budget.
    const total = new TotalMemory(Math.floor(4.5 * size));
    const a = new PreparedStore(new SessionMemory(total, Math.floor(3.5 * size)));
    const b = new PreparedStore(new SessionMemory(total, Math.floor(3.5 * size)));
    let n = 0;
    let code = '';
    for (; n < 100 && code === ''; n++) {
      try {
        a.addStatement(`s${n}`, { statement: big, paramTypes: [] });
      } catch (err) {
        code = (err as { sqlState: string }).sqlState;
      }
    }
    expect([code, n]).toEqual(['54000', 4]);
    expect(a.bytes).toBe(3 * size);
    expect(total.used).toBe(a.bytes);
    let bCode = '';
    for (let i = 0; i < 100 && bCode === ''; i++) {
      try {
        b.addStatement(`s${i}`, { statement: big, paramTypes: [] });
      } catch (err) {
        bCode = (err as { sqlState: string }).sqlState;
      }
    }
    expect(bCode).toBe('53200');
    expect(b.bytes).toBe(size);
    // The unnamed statement is replaced, not added up.
    const before = b.bytes;
    b.closeStatement('s0');
    const freed = before - b.bytes;
    expect(freed).toBe(size);
    b.addStatement('', { statement: big, paramTypes: [] });
    const withUnnamed = b.bytes;
    b.addStatement('', { statement: big, paramTypes: [] });
    expect(b.bytes).toBe(withUnnamed);
    a.clearAll();
    b.clearAll();
    expect([a.bytes, b.bytes, total.used]).toEqual([0, 0, 0]);
  });

  it('charges bound parameters and held results, and frees them with the portals', () => {
    const total = new TotalMemory(10_000_000);
    const store = new PreparedStore(new SessionMemory(total, 1_000_000));
    const prepared = { statement: statement('SELECT trip_id FROM trip_history WHERE trip_id <> $1'), paramTypes: [25] };
    store.addStatement('p', prepared);
    const afterParse = store.bytes;
    const portal = { prepared, params: ['z'.repeat(100_000)], resultFormats: [], sent: 0, done: false };
    store.addPortal('x', portal);
    expect(store.bytes - afterParse).toBeGreaterThan(200_000);
    store.setResult(portal, { columns: [{ name: 'trip_id', typeOid: 25 }], rows: Array.from({ length: 1_000 }, () => ['r'.repeat(100)]) });
    expect(store.bytes - afterParse).toBeGreaterThan(400_000);
    expect(() => store.setResult({ ...portal }, { columns: [], rows: Array.from({ length: 5_000 }, () => ['r'.repeat(100)]) }))
      .toThrow(expect.objectContaining({ sqlState: '54000' }));
    store.clearPortals();
    expect(store.bytes).toBe(afterParse);
    expect(store.deallocate('p')).toBe(true);
    expect(store.bytes).toBe(0);
  });

  it('charges nothing for a statement that finishes after its session ended', () => {
    const total = new TotalMemory(10_000_000);
    const store = new PreparedStore(new SessionMemory(total, 1_000_000));
    const prepared = { statement: statement('SELECT trip_id FROM trip_history'), paramTypes: [] };
    store.addStatement('', prepared);
    const portal = { prepared, params: [], resultFormats: [], sent: 0, done: false };
    store.addPortal('', portal);
    store.clearAll(); // the connection went away while the portal's statement ran
    store.setResult(portal, { columns: [{ name: 'trip_id', typeOid: 25 }], rows: [['ride-1']] });
    expect(total.used).toBe(0);
  });
});

describe('WAVEGATE_SQL_* limits', () => {
  it('has defaults for every limit', () => {
    expect(loadSqlPassthroughSettings({})).toMatchObject({
      maxConnections: 100, maxPending: 16, maxPendingPerAddress: 8, maxConnectionsPerAddress: 50, authTimeoutMs: 5_000,
      maxMessageBytes: 8 * 1024 * 1024, loginBackoffMs: 100, loginBackoffMaxMs: 3_000, loginBackoffWindowMs: 300_000,
      sessionMemoryBytes: 32 * 1024 * 1024, totalMemoryBytes: 256 * 1024 * 1024,
    });
  });

  it('reads them and refuses combinations that cannot work', () => {
    expect(loadSqlPassthroughSettings({ WAVEGATE_SQL_MAX_PENDING: '4', WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS: '2', WAVEGATE_SQL_AUTH_TIMEOUT_MS: '2000', WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS: '1000' }))
      .toMatchObject({ maxPending: 4, maxPendingPerAddress: 2, authTimeoutMs: 2_000, loginBackoffMaxMs: 1_000 });
    expect(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_AUTH_TIMEOUT_MS: '2000' })).toThrow(/WAVEGATE_SQL_LOGIN_BACKOFF_MAX_MS=3000 must be below WAVEGATE_SQL_AUTH_TIMEOUT_MS=2000/);
    expect(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_MAX_PENDING: '4' })).toThrow(/WAVEGATE_SQL_MAX_PENDING_PER_ADDRESS=8 is above WAVEGATE_SQL_MAX_PENDING=4/);
    expect(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_TOTAL_MEMORY_BYTES: '1048576' })).toThrow(/WAVEGATE_SQL_SESSION_MEMORY_BYTES=33554432 is above/);
    expect(() => loadSqlPassthroughSettings({ WAVEGATE_SQL_MAX_PENDING: '0' })).toThrow(/WAVEGATE_SQL_MAX_PENDING=0 is not valid/);
  });
});
