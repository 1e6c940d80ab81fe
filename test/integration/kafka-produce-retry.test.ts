/**
 * Why the Kafka tests produce with an idempotent producer (test/helpers/kafka.ts `testProducer`):
 * a produce request the broker appended but whose answer the client never got is sent again, and a
 * plain kafkajs producer then writes its records a second time, at new offsets. The feed delivers
 * those copies (docs/SUBSCRIPTIONS.md, "Duplicates": the same change written twice is delivered),
 * so a test counting changes takes them for a feed bug; that is how
 * kafka-gateway-restart.test.ts once saw every change produced after the restart in one partition
 * twice. After a broker restart the retry comes from a request the broker accepted for some
 * partitions and refused for others (their leaders not yet in place); here the lost answer is made
 * deterministic instead: a socket that cuts the connection when the first produce response
 * arrives, on the shared broker.
 */
import { connect, type Socket } from 'node:net';
import { silentLogger } from '../../src/log';
import { createKafkaClient, type ISocketFactory, type Kafka, type Producer } from '../../src/kafka';
import { KAFKA_BROKERS, KafkaTestClient, requireBroker, testProducer, uniquePrefix } from '../helpers/kafka';

jest.setTimeout(60_000);

let client: KafkaTestClient;

beforeAll(async () => {
  await requireBroker();
  client = await KafkaTestClient.connect();
});
afterAll(async () => {
  await client?.cleanup();
});

/** Kafka request framing: int32 size, then the header's int16 api key; Produce is api key 0. */
const isProduceRequest = (chunk: unknown): boolean => Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === 0;

/**
 * Sockets that let the first Produce request through to the broker and, when its response comes
 * back, close the connection instead of handing the response over: the broker appended the records,
 * the client saw the connection end (retriable) and sends the request again on a new connection.
 */
function losingFirstProduceResponse(): { factory: ISocketFactory; readonly lost: number } {
  let armed = true;
  const state = { lost: 0 };
  const factory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket: Socket = connect({ host, port }, onConnect);
    let awaitingResponse = false;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]) => {
      if (armed && isProduceRequest(args[0])) {
        armed = false;
        awaitingResponse = true;
      }
      return write(...args);
    }) as Socket['write'];
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data' && awaitingResponse) {
        awaitingResponse = false;
        state.lost++;
        socket.destroy();
        return emit('end'); // kafkajs listens for 'end': it fails the request as a closed connection
      }
      return emit(event, ...args);
    }) as Socket['emit'];
    return socket;
  };
  return { factory, get lost() { return state.lost; } };
}

/** Sends 3 records to partition 0 of a new topic with `makeProducer` over sockets losing the first produce response. */
async function sendLosingFirstResponse(makeProducer: (kafka: Kafka) => Producer): Promise<{ lost: number; written: number; baseOffset: string | undefined }> {
  const [topic] = await client.createViewTopics(uniquePrefix(), ['trip_history'], 1);
  const sockets = losingFirstProduceResponse();
  const kafka = createKafkaClient({ brokers: KAFKA_BROKERS, log: silentLogger, clientId: 'wavegate-test', socketFactory: sockets.factory, retry: { initialMs: 100, maxMs: 1_000, retries: 8 } });
  const producer = makeProducer(kafka);
  await producer.connect();
  try {
    const [result] = await producer.send({ topic: topic!, acks: -1, messages: [0, 1, 2].map((n) => ({ key: `k${n}`, value: `v${n}`, partition: 0 })) });
    return { lost: sockets.lost, written: await client.records(topic!), baseOffset: result?.baseOffset };
  } finally {
    await producer.disconnect();
  }
}

it('a plain kafkajs producer writes the records again when the answer to an appended request is lost', async () => {
  const { lost, written, baseOffset } = await sendLosingFirstResponse((kafka) => kafka.producer({ allowAutoTopicCreation: false }));
  expect(lost).toBe(1);
  expect(written).toBe(6); // 3 sent, the log holds them twice
  expect(baseOffset).toBe('3'); // the send reports the copy
});

it('the test producer (idempotent, as RisingWave sinks are) writes them once: the broker answers the retry with the first offsets', async () => {
  const { lost, written, baseOffset } = await sendLosingFirstResponse(testProducer);
  expect(lost).toBe(1);
  expect(written).toBe(3);
  expect(baseOffset).toBe('0');
});
