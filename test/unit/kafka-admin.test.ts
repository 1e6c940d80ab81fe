import { fetchTopicOffsets, type TopicOffsets } from '../../src/kafka/admin';

const OFFSETS: TopicOffsets = [{ partition: 0, offset: '7', high: '7', low: '0' }];
const brokerError = (type: string) => Object.assign(new Error(`broker says ${type}`), { type });

/** A fake admin whose fetchTopicOffsets throws `failures` in turn, then answers OFFSETS. */
function fakeAdmin(failures: Error[]) {
  let calls = 0;
  return {
    get calls() { return calls; },
    fetchTopicOffsets: async (_topic: string): Promise<TopicOffsets> => {
      calls++;
      const err = failures.shift();
      if (err !== undefined) throw err;
      return OFFSETS;
    },
  };
}

describe('fetchTopicOffsets (kafkajs gives up on NOT_LEADER_FOR_PARTITION; this waits for the leader)', () => {
  it('retries while the leader is not in place, then returns the offsets', async () => {
    const admin = fakeAdmin([brokerError('NOT_LEADER_FOR_PARTITION'), brokerError('LEADER_NOT_AVAILABLE'), brokerError('UNKNOWN_TOPIC_OR_PARTITION')]);
    await expect(fetchTopicOffsets(admin, 't')).resolves.toEqual(OFFSETS);
    expect(admin.calls).toBe(4);
  });

  it('passes any other error through at once', async () => {
    const admin = fakeAdmin([brokerError('TOPIC_AUTHORIZATION_FAILED')]);
    await expect(fetchTopicOffsets(admin, 't')).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
    expect(admin.calls).toBe(1);
  });

  it('gives up after the last attempt with the broker\'s error', async () => {
    const admin = fakeAdmin([1, 2, 3].map(() => brokerError('NOT_LEADER_FOR_PARTITION')));
    await expect(fetchTopicOffsets(admin, 't', 3)).rejects.toThrow('NOT_LEADER_FOR_PARTITION');
    expect(admin.calls).toBe(3);
  });
});
