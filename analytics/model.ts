/** Helpers over analytics events (the event contract itself is events/analytics.ts). */
export { AnalyticsEventSchema, EVENT_TYPES, normalizeQuery, parseAnalyticsEvent } from '../events/analytics';
export type { AnalyticsEvent, AnalyticsEventType, OrderLineFact } from '../events/analytics';

/** The minute bucket (minutes since the epoch) of an instant. */
export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);
/** The day partition (YYYY-MM-DD, UTC) of an instant. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
/** Money is summed in cents (integers), never as floats. */
export const toCents = (price: number): number => Math.round(price * 100);
