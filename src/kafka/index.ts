/**
 * The Kafka module: the only part of src/ that imports kafkajs. The change feed
 * (src/engine/risingwave/feed/), the consumer toolkit (src/consumer/), the examples, tests and
 * benchmarks reach Kafka through it:
 * - client.ts: the client factory (logging through the injected Logger) and the partitioner;
 * - resilientConsumer.ts: a group member rebuilt with backoff after crashes kafkajs gives up on;
 * - topics.ts: topic names (`view.<view>`, `events.<Type>`, `dlq.<service>`);
 * - admin.ts: admin calls that wait out partition leadership moving;
 * - log.ts: kafkajs logs into the Logger.
 */
export { createKafkaClient, javaCompatiblePartitioner, KAFKA_CLIENT_DEFAULTS, type Admin, type Consumer, type EachBatchPayload, type ISocketFactory, type Kafka, type KafkaClientOptions, type KafkaMessage, type KafkaRetry, type Producer } from './client';
export { ResilientConsumer, type Assignment, type ConsumerFactory, type ConsumerHandle, type ConsumerPhase, type ResilientConsumerOptions } from './resilientConsumer';
export * from './topics';
export { createTopicsAndWait, fetchTopicOffsets, type TopicOffsets } from './admin';
