import { GatewayError, GatewayErrorCode } from '../../errors';
import type { ChangeEvent, ChangeFeed, ChangeListener, FeedPosition, FeedStatus, ReplayRequest } from '../types';

/**
 * A change feed that never delivers anything: for a read-only gateway on RisingWave (no Kafka) and
 * for tests. Positions are "0"; any other cursor is malformed for this feed.
 */
export class IdleFeed implements ChangeFeed {
  readonly id = 'idle';

  subscribe(_listener: ChangeListener): () => void {
    return () => undefined;
  }

  /** Nothing to replay: the only valid cursor ("0") covers everything this feed will ever have. */
  async *replay(request: ReplayRequest): AsyncGenerator<readonly ChangeEvent[]> {
    this.check(request.after);
  }

  isAfter(position: FeedPosition, cursor: FeedPosition): boolean {
    this.check(position);
    this.check(cursor);
    return false;
  }

  advance(cursor: FeedPosition, position: FeedPosition): FeedPosition {
    this.check(position);
    return this.check(cursor);
  }

  head(): FeedPosition {
    return '0';
  }

  status(): FeedStatus {
    return { ready: true, lagMs: 0, pending: 0 };
  }

  private check(p: FeedPosition): FeedPosition {
    if (p !== '0') throw new GatewayError(GatewayErrorCode.BAD_USER_INPUT, 'Malformed cursor');
    return p;
  }
}
