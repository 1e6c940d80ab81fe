/**
 * The four example services on real Kafka and MariaDB, for tests: each service on its own
 * throwaway database (migrated), this test's topics, groups and dead-letter topics, and the outbox
 * router standing in for RisingWave CDC + sinks. Everything started through it is stopped, and
 * everything created is removed, by cleanup().
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from 'wavegate/consumer';
import { EVENT_TYPES } from 'wavegate/outbox';
import { migrateDriver } from '../src/driver';
import { migrateNotification } from '../src/notification';
import { migratePayment } from '../src/payment';
import { createRideService, migrateRide, type RideOptions, type RideService } from '../src/ride';
import { OutboxRouter } from '../src/router';
import { SERVICE_NAMES, type Service, type ServiceName, type ServiceOptions } from '../src/service';
import { createServiceDatabase, KAFKA_BROKERS, TEST_CONSUMER_SETTINGS, TestKafka, type ServiceDatabase } from './support';

export class ServicesLoop {
  private readonly leftovers: Array<() => Promise<void>> = [];

  private constructor(readonly kafka: TestKafka, readonly dbs: Record<ServiceName, ServiceDatabase>) {}

  /** Event topics (3 partitions) and four migrated service databases. */
  static async create(): Promise<ServicesLoop> {
    const kafka = await TestKafka.connect();
    await kafka.createEventTopics(EVENT_TYPES, 3);
    const dbs = {
      ride: await createServiceDatabase(),
      driver: await createServiceDatabase(),
      payment: await createServiceDatabase(),
      notification: await createServiceDatabase(),
    };
    await migrateRide(dbs.ride);
    await migrateDriver(dbs.driver);
    await migratePayment(dbs.payment);
    await migrateNotification(dbs.notification);
    return new ServicesLoop(kafka, dbs);
  }

  /** Options for a service on this loop's database, topics, group and dead-letter topic. */
  options(name: ServiceName): ServiceOptions {
    return {
      db: this.dbs[name].db, brokers: KAFKA_BROKERS, log: silentLogger,
      consumer: { ...TEST_CONSUMER_SETTINGS, topicPrefix: this.kafka.topicPrefix, groupId: this.kafka.group(name), deadLetterTopic: this.kafka.dlqTopic(name) },
    };
  }

  /** Runs `dispose` at cleanup(), before earlier ones. */
  defer(dispose: () => Promise<void>): void {
    this.leftovers.push(dispose);
  }

  /** Starts `service`; stopped at cleanup(). */
  async started<S extends Service>(service: S): Promise<S> {
    this.defer(() => service.stop());
    await service.start();
    return service;
  }

  /** The router standing in for RisingWave CDC + sinks, polling every service's outbox every 50 ms. */
  async startRouter(): Promise<OutboxRouter> {
    const router = new OutboxRouter({ brokers: KAFKA_BROKERS, sources: SERVICE_NAMES.map((name) => ({ name, db: this.dbs[name].db })), log: silentLogger, topicPrefix: this.kafka.topicPrefix });
    await router.connect();
    router.start(50);
    this.defer(() => router.stop());
    return router;
  }

  /** The Ride service listening on 127.0.0.1:`port` (0 = any), with its base URL. */
  async startRide(options: RideOptions = {}, port = 0): Promise<{ ride: RideService; url: string }> {
    const ride = createRideService(this.options('ride'), options);
    this.defer(() => ride.stop());
    const server: Server = await ride.listen(port);
    return { ride, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  /** Stops what was started (last first), drops the databases and removes topics and groups. */
  async cleanup(): Promise<void> {
    for (const dispose of this.leftovers.splice(0).reverse()) await dispose();
    for (const d of Object.values(this.dbs)) await d.drop();
    await this.kafka.cleanup();
  }
}
