import type { Admin, Kafka } from 'kafkajs';

/** Which topics exist on the cluster. */
export interface TopicDirectory {
  /** The topics that exist, as last read; an empty set until the cluster has answered once. */
  existing(): Promise<ReadonlySet<string>>;
}

/**
 * The cluster's topic list, read through the admin client and kept for `ttlMs`. A read that fails (Kafka down)
 * keeps the last list and is tried again after the same interval.
 *
 * The outbox relay asks it before each claim: a row for a topic that does not exist would fail every batch it
 * is sent in (the producer does not create topics), and with it every event of every other topic behind it.
 */
export class KafkaTopicDirectory implements TopicDirectory {
  private readonly admin: Admin;
  private topics: ReadonlySet<string> = new Set();
  private readAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly ttlMs = 10_000,
  ) {
    this.admin = kafka.admin();
  }

  async existing(): Promise<ReadonlySet<string>> {
    if (Date.now() - this.readAt >= this.ttlMs) {
      await (this.pending ??= this.read().finally(() => (this.pending = undefined)));
    }
    return this.topics;
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  private async read(): Promise<void> {
    try {
      await this.admin.connect(); // a no-op when connected; reconnects after an outage
      this.topics = new Set(await this.admin.listTopics());
    } catch {
      // Kafka unreachable: the relay's sends would fail too; keep the last list.
    } finally {
      this.readAt = Date.now();
    }
  }
}
