/**
 * The delivery port and its adapters. A channel either resolves (delivered: the SMTP server accepted the
 * message, the webhook answered 2xx) or throws (the sender retries later). `NOTIFY_CHANNEL` picks one.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../lib/config';
import { signPayload, SIGNATURE_HEADER } from '../payments/webhook-signature';
import { subjectOf } from './model';
import type { Outgoing } from './repository';

export interface NotificationChannel {
  readonly name: string;
  send(n: Outgoing): Promise<void>;
  close?(): Promise<void>;
}

/** A failure that no retry can fix (e.g. the recipient has no address): the notification is marked failed at once. */
export class PermanentDeliveryError extends Error {}

/** E-mail through SMTP (Mailpit on the native stack). */
export class EmailChannel implements NotificationChannel {
  readonly name = 'email';
  private readonly transport: Transporter;

  constructor(
    private readonly opts: {
      host: string;
      port: number;
      secure: boolean;
      user?: string;
      password?: string;
      from: string;
      timeoutMs: number;
    },
  ) {
    this.transport = nodemailer.createTransport({
      host: opts.host,
      port: opts.port,
      secure: opts.secure,
      ...(opts.user ? { auth: { user: opts.user, pass: opts.password ?? '' } } : {}),
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      pool: true,
      maxConnections: 2,
    });
  }

  async send(n: Outgoing): Promise<void> {
    if (!n.email) throw new PermanentDeliveryError(`user ${n.user_id} has no e-mail address`);
    await this.transport.sendMail({
      from: this.opts.from,
      to: n.name ? { name: n.name, address: n.email } : n.email,
      subject: subjectOf(n.type),
      text: `${n.message}\n\n-- shopflow (notification ${n.notification_id})`,
      headers: { 'X-Shopflow-Notification-Id': n.notification_id, 'X-Shopflow-Notification-Type': n.type },
    });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** The JSON body a webhook receives. */
export function webhookBody(n: Outgoing): string {
  const { email: _e, name: _n, ...notification } = n;
  return JSON.stringify({ type: 'notification', notification });
}

/** HTTP POST of the notification as JSON to one URL, signed like the payment webhooks (`shopflow-signature:
 * t=<unix s>,v1=<HMAC-SHA256 of "t.body">`) so the receiver can check it came from us. 4xx other than 408/429
 * is permanent; anything else is retried. */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs: number,
  ) {}

  async send(n: Outgoing): Promise<void> {
    const body = webhookBody(n);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signPayload(this.secret, body),
          'idempotency-key': n.notification_id,
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(`webhook unreachable: ${(err as Error).message}`, { cause: err });
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    const msg = `webhook answered ${res.status}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      throw new PermanentDeliveryError(msg);
    throw new Error(msg);
  }
}

/** Delivery turned off: notifications are stored (readable through the API) and marked sent on channel none. */
export class NoChannel implements NotificationChannel {
  readonly name = 'none';
  async send(): Promise<void> {}
}

export function createChannel(cfg: Config): NotificationChannel {
  switch (cfg.NOTIFY_CHANNEL) {
    case 'email':
      return new EmailChannel({
        host: cfg.SMTP_HOST,
        port: cfg.SMTP_PORT,
        secure: cfg.SMTP_SECURE,
        user: cfg.SMTP_USER,
        password: cfg.SMTP_PASSWORD,
        from: cfg.NOTIFY_EMAIL_FROM,
        timeoutMs: cfg.NOTIFY_SEND_TIMEOUT,
      });
    case 'webhook':
      if (!cfg.NOTIFY_WEBHOOK_URL) throw new Error('NOTIFY_CHANNEL=webhook needs NOTIFY_WEBHOOK_URL');
      return new WebhookChannel(cfg.NOTIFY_WEBHOOK_URL, cfg.NOTIFY_WEBHOOK_SECRET, cfg.NOTIFY_SEND_TIMEOUT);
    case 'none':
      return new NoChannel();
  }
}
