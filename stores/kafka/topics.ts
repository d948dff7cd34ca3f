/** The Kafka topics and what flows on each. Order events are keyed by order id, so one order's events stay
 * in order on one partition. */
export const TOPICS = {
  orders: { name: 'shopflow.orders', partitions: 6 },
  inventory: { name: 'shopflow.inventory', partitions: 6 },
  items: { name: 'shopflow.items', partitions: 6 },
  analytics: { name: 'shopflow.analytics', partitions: 6 },
} as const;
