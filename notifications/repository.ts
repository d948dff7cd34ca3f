/**
 * Notifications in MySQL (table `notifications`, migration 020). Storing is INSERT IGNORE on the unique key
 * (source_event_id, user_id, audience), so storing the same event's notifications again changes nothing.
 * Delivery state lives on the row; the sender claims due rows with a lease (see `claimDue`).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Audience, DeliveryStatus, Notification, NotificationDraft } from './model';
import { SELLER_NEW_ORDER } from './model';

interface Row {
  id: number | string;
  notification_id: string;
  user_id: string;
  audience: Audience;
  type: string;
  message: string;
  order_id: string | null;
  source_event_id: string | null;
  delivery_status: DeliveryStatus;
  channel: string | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  read_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toNotification(r: Row): Notification {
  return {
    notification_id: r.notification_id,
    user_id: r.user_id,
    audience: r.audience,
    type: r.type,
    message: r.message,
    order_id: r.order_id,
    delivery_status: r.delivery_status,
    channel: r.channel,
    attempts: Number(r.attempts),
    created_at: new Date(r.created_at).toISOString(),
    sent_at: iso(r.sent_at),
    read_at: iso(r.read_at),
  };
}

/** A claimed notification with what the channels need to reach its recipient. */
export interface Outgoing extends Notification {
  email: string;
  name: string;
}

export interface Page {
  notifications: Notification[];
  next_cursor: string | null;
}

/** Cursors are the last row's internal id, opaque to clients (base64url). */
export function encodeCursor(id: number | string): string {
  return Buffer.from(`n:${id}`).toString('base64url');
}
export function decodeCursor(cursor: string): number | undefined {
  const m = /^n:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? Number(m[1]) : undefined;
}

export class NotificationRepository {
  constructor(private readonly db: Knex) {}

  /** Stores drafts; a draft whose (source event, recipient, audience) is already stored is skipped. Returns how
   * many rows were new. */
  async storeAll(drafts: NotificationDraft[]): Promise<number> {
    if (drafts.length === 0) return 0;
    let inserted = 0;
    for (let i = 0; i < drafts.length; i += 500) {
      const rows = drafts.slice(i, i + 500).map((d) => ({ notification_id: randomUUID(), ...d }));
      // Run as raw SQL to read the driver's affectedRows (knex's insert answers only the first insert id).
      const { sql, bindings } = this.db('notifications').insert(rows).onConflict().ignore().toSQL();
      const [res] = (await this.db.raw(sql, bindings as Knex.RawBinding[])) as [{ affectedRows?: number }];
      inserted += Number(res?.affectedRows ?? 0);
    }
    return inserted;
  }

  /** A direct notification (POST /notifications): always a new row. */
  async create(d: Omit<NotificationDraft, 'source_event_id' | 'audience'>): Promise<Notification> {
    const notification_id = randomUUID();
    await this.db('notifications').insert({ notification_id, ...d, audience: 'direct', source_event_id: null });
    return (await this.get(notification_id))!;
  }

  async get(notificationId: string): Promise<Notification | undefined> {
    const row: Row | undefined = await this.db('notifications').where({ notification_id: notificationId }).first();
    return row ? toNotification(row) : undefined;
  }

  /** A user's notifications, newest first, `limit` per page. */
  async listForUser(userId: string, opts: { limit: number; after?: number; unread?: boolean }): Promise<Page> {
    const q = this.db('notifications')
      .where({ user_id: userId })
      .orderBy('id', 'desc')
      .limit(opts.limit + 1);
    if (opts.after !== undefined) q.where('id', '<', opts.after);
    if (opts.unread === true) q.whereNull('read_at');
    if (opts.unread === false) q.whereNotNull('read_at');
    const rows: Row[] = await q;
    const page = rows.slice(0, opts.limit);
    return {
      notifications: page.map(toNotification),
      next_cursor: rows.length > opts.limit ? encodeCursor(page[page.length - 1]!.id) : null,
    };
  }

  /** Marks one of this user's notifications read (once: the first read time stays). */
  async markRead(userId: string, notificationId: string): Promise<Notification | undefined> {
    await this.db('notifications')
      .where({ notification_id: notificationId, user_id: userId })
      .whereNull('read_at')
      .update({ read_at: this.db.fn.now(3) });
    const n = await this.get(notificationId);
    return n && n.user_id === userId ? n : undefined;
  }

  /** The sellers told to ship these orders (their `new_order` notifications). */
  async sellersToldOf(orderIds: string[]): Promise<{ order_id: string; user_id: string }[]> {
    if (orderIds.length === 0) return [];
    return this.db('notifications')
      .distinct('order_id', 'user_id')
      .whereIn('order_id', orderIds)
      .where({ audience: 'seller', type: SELLER_NEW_ORDER });
  }

  /** All notifications made from one event (tests and diagnostics). */
  async bySourceEvent(eventId: string): Promise<Notification[]> {
    const rows: Row[] = await this.db('notifications').where({ source_event_id: eventId }).orderBy('id');
    return rows.map(toNotification);
  }

  /**
   * Claims up to `limit` due pending notifications for one sender round: counts the attempt and pushes
   * `next_attempt_at` forward by `leaseMs`, so no other sender takes them meanwhile, and a sender that dies
   * mid-send leaves them to be claimed again when the lease runs out (at least once: a crash right after the
   * SMTP server accepted a message may send it twice, never zero times).
   */
  async claimDue(limit: number, leaseMs: number): Promise<Outgoing[]> {
    const token = randomUUID();
    await this.db.raw(
      `UPDATE notifications SET claim_token = ?, attempts = attempts + 1, next_attempt_at = NOW(3) + INTERVAL ? MICROSECOND
       WHERE delivery_status = 'pending' AND next_attempt_at <= NOW(3) ORDER BY next_attempt_at, id LIMIT ?`,
      [token, leaseMs * 1000, limit],
    );
    const rows: (Row & { email: string | null; name: string | null })[] = await this.db('notifications as n')
      .leftJoin('users as u', 'u.user_id', 'n.user_id')
      .select('n.*', 'u.email', 'u.name')
      .where('n.claim_token', token)
      .orderBy('n.id');
    return rows.map((r) => ({ ...toNotification(r), email: r.email ?? '', name: r.name ?? '' }));
  }

  async markSent(notificationId: string, channel: string): Promise<void> {
    await this.db('notifications')
      .where({ notification_id: notificationId, delivery_status: 'pending' })
      .update({ delivery_status: 'sent', channel, sent_at: this.db.fn.now(3), last_error: null, claim_token: null });
  }

  /** A failed attempt: retried after `retryInMs`, or marked failed when it was the last one. */
  async markAttemptFailed(
    notificationId: string,
    channel: string,
    error: string,
    final: boolean,
    retryInMs: number,
  ): Promise<void> {
    await this.db('notifications')
      .where({ notification_id: notificationId, delivery_status: 'pending' })
      .update({
        channel,
        last_error: error.slice(0, 500),
        claim_token: null,
        ...(final
          ? { delivery_status: 'failed' }
          : { next_attempt_at: this.db.raw('NOW(3) + INTERVAL ? MICROSECOND', [retryInMs * 1000]) }),
      });
  }
}
