import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * The one envelope every event travels in. `id` is what consumers dedupe by; `subject` is the
 * entity the event is about and also the Kafka key, so events of one entity stay in order.
 */
export const envelopeSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime(),
  source: z.string().min(1).max(100),
  subject: z.string().min(1).max(200),
  data: z.unknown(),
});

export type Envelope<Data = unknown> = Omit<z.output<typeof envelopeSchema>, 'data'> & { data: Data };

/** An event type: its name, version, topic and the schema of its data. */
export interface EventDefinition<Data> {
  type: string;
  version: number;
  topic: string;
  dataSchema: z.ZodType<Data>;
}

export function defineEvent<Data>(definition: EventDefinition<Data>): EventDefinition<Data> {
  return definition;
}

/** Builds an envelope; pass a stable `id` whenever the same fact may be produced twice. */
export function createEvent<Data>(
  definition: EventDefinition<Data>,
  fields: { source: string; subject: string; data: Data; id?: string; occurredAt?: Date },
): Envelope<Data> {
  return {
    id: fields.id ?? randomUUID(),
    type: definition.type,
    version: definition.version,
    occurredAt: (fields.occurredAt ?? new Date()).toISOString(),
    source: fields.source,
    subject: fields.subject,
    data: definition.dataSchema.parse(fields.data),
  };
}

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** Parses raw message bytes as an event of the given definition, or throws InvalidEventError. */
export function parseEvent<Data>(definition: EventDefinition<Data>, raw: Buffer | string | null): Envelope<Data> {
  if (raw === null) throw new InvalidEventError('message has no value');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new InvalidEventError('message value is not JSON');
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) throw new InvalidEventError(`bad envelope: ${z.prettifyError(envelope.error)}`);
  if (envelope.data.type !== definition.type || envelope.data.version !== definition.version) {
    throw new InvalidEventError(`expected ${definition.type} v${definition.version}, got ${envelope.data.type} v${envelope.data.version}`);
  }
  const data = definition.dataSchema.safeParse(envelope.data.data);
  if (!data.success) throw new InvalidEventError(`bad ${definition.type} data: ${z.prettifyError(data.error)}`);
  return { ...envelope.data, data: data.data };
}

/**
 * The type and version of a message, for consumers of topics that carry several event types:
 * they parse fully only the types they handle. Throws InvalidEventError for a non-envelope.
 */
export function peekEventType(raw: Buffer | string | null): { type: string; version: number } {
  if (raw === null) throw new InvalidEventError('message has no value');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new InvalidEventError('message value is not JSON');
  }
  const envelope = envelopeSchema.pick({ type: true, version: true }).safeParse(json);
  if (!envelope.success) throw new InvalidEventError(`bad envelope: ${z.prettifyError(envelope.error)}`);
  return envelope.data;
}
