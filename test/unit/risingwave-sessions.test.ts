/**
 * Finding a connection's RisingWave session for KILL, and sharing FLUSHes among snapshot reads.
 */
import { FlushBatches } from '../../src/engine/risingwave/flush';
import { cancelStatement, ownProcessListRow, type ProcessListRow } from '../../src/engine/risingwave/sessions';

/** SHOW PROCESSLIST rows as RisingWave v3.0.3 returns them (src/frontend/src/handler/show.rs). */
const row = (worker: number, pid: number, host: string, info: string | null): ProcessListRow =>
  ({ 'Worker Id': String(worker), Id: `${worker}:${pid}`, Host: host, Info: info } as ProcessListRow);

describe('the session behind a connection', () => {
  it('is the row with its pid that runs SHOW PROCESSLIST; the client address settles a pid two frontends share', () => {
    const rows = [
      row(1, 3, '10.0.0.5:40000', 'SELECT * FROM (SELECT trip_id FROM trip_history) AS trip_history, params = [Some("x")]'),
      row(1, 4, '10.0.0.5:40001', 'SHOW PROCESSLIST'),
      row(2, 4, '10.0.0.5:40002', null),
    ];
    expect(ownProcessListRow(rows, 4, '10.0.0.5:40001')?.['Worker Id']).toBe('1');
    expect(ownProcessListRow(rows, 3, '10.0.0.5:40000')).toBeUndefined(); // pid 3 runs something else: not us asking
    const tie = [row(1, 4, '10.0.0.5:40001', 'SHOW PROCESSLIST'), row(2, 4, '10.0.0.5:40002', 'SHOW PROCESSLIST')];
    expect(ownProcessListRow(tie, 4, '10.0.0.5:40002')?.['Worker Id']).toBe('2');
    expect(ownProcessListRow(tie, 4, '172.17.0.1:1234')).toBeUndefined(); // behind NAT: cannot tell
  });

  it('is cancelled with KILL \'<worker>:<pid>\' on RisingWave, pg_cancel_backend on PostgreSQL, not at all without a worker', () => {
    expect(cancelStatement('risingwave', { pid: 12, worker: '3' })).toEqual({ sql: "KILL '3:12'", params: [] });
    expect(cancelStatement('postgres', { pid: 12, worker: undefined })).toEqual({ sql: 'SELECT pg_catalog.pg_cancel_backend($1)', params: [12] });
    expect(cancelStatement('risingwave', { pid: 12, worker: undefined })).toBeUndefined();
    expect(cancelStatement('risingwave', { pid: 12, worker: "1'; DROP" })).toBeUndefined();
  });
});

/** A FLUSH the test completes by hand. */
function manualFlushes(): { started: string[]; finish: (i: number, err?: Error) => void; flush: (by: string) => () => Promise<void> } {
  const started: string[] = [];
  const done: Array<(err?: Error) => void> = [];
  return {
    started,
    finish: (i, err) => done[i]!(err),
    flush: (by) => () => new Promise<void>((resolve, reject) => {
      started.push(by);
      done.push((err) => (err === undefined ? resolve() : reject(err)));
    }),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FlushBatches', () => {
  it('never lets a read join a FLUSH already in flight; reads arriving meanwhile share the next one', async () => {
    const b = new FlushBatches();
    const m = manualFlushes();
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>) => p.then(() => settled.push(name));
    const a = track('a', b.wait('w1', m.flush('a')));
    const c = track('c', b.wait('w1', m.flush('c')));
    const d = track('d', b.wait('w1', m.flush('d')));
    expect(m.started).toEqual(['a']);
    m.finish(0);
    await a;
    await tick();
    expect(settled).toEqual(['a']); // c and d asked after 'a' was sent: they wait for the next one
    expect(m.started).toEqual(['a', 'c']); // sent on the first waiter's connection
    m.finish(1);
    await Promise.all([c, d]);
    expect(settled).toEqual(['a', 'c', 'd']);
    expect(b.active).toBe(0);
  });

  it('keeps frontends apart, and hands a failed FLUSH to every read that shared it', async () => {
    const b = new FlushBatches();
    const m = manualFlushes();
    const one = b.wait('w1', m.flush('w1'));
    const two = b.wait('w2', m.flush('w2'));
    expect(m.started).toEqual(['w1', 'w2']);
    const late = b.wait('w1', m.flush('late'));
    const later = b.wait('w1', m.flush('later'));
    m.finish(0);
    m.finish(1);
    await Promise.all([one, two]);
    await tick();
    m.finish(2, new Error('flush timed out'));
    await expect(late).rejects.toThrow('flush timed out');
    await expect(later).rejects.toThrow('flush timed out');
    expect(m.started).toEqual(['w1', 'w2', 'late']);
    expect(b.active).toBe(0);
  });
});
