import type { Connection } from '@lovepoints/mongo';
import { outboxSchemaFields } from '@lovepoints/outbox';
import { Schema } from 'mongoose';
import type { OrderLevel, PayerKind } from '../domain/order-rules';

export type { OrderLevel, PayerKind };
export type OrderStatus = 'open' | 'accepted' | 'in_progress' | 'completed' | 'disputed' | 'verified' | 'rated' | 'cancelled';
export type HoldState = 'placing' | 'held' | 'posted' | 'voided' | 'rejected';

/** One ledger hold of an order; its transfer id is derived from the order id and its position. */
export interface OrderHold {
  transferId: string;
  payerKind: PayerKind;
  payerUserId: string;
  payerCommunityId: string;
  minutes: number;
  state: HoldState;
  postedMinutes: number;
}

/**
 * A step that moves minutes and so spans several writes (ledger calls, then the order). While it
 * runs, the order carries it with a lease; the `token` names the runner, so a runner whose lease
 * was taken over by recovery cannot finish the step a second time.
 */
export interface OrderPhase {
  name: 'take' | 'pay' | 'release';
  token: string;
  leaseUntil: Date;
  /** take: the volunteer and (for a dispatch) the organizer. */
  volunteerUserId: string;
  assignedByUserId: string;
  /** pay: the minutes to pay; release: the status to end in. */
  minutes: number;
  target: 'open' | 'cancelled' | '';
  reason: string;
  actorUserId: string;
  /** The client's Idempotency-Key and step, recorded when the step finishes. */
  requestKey: string;
  step: string;
}

export interface OrderDocument {
  _id: string;
  communityId: string;
  street: string;
  requesterUserId: string;
  beneficiaryUserId: string;
  category: string;
  description: string;
  place: string;
  startAt: Date;
  minutes: number;
  acceptBy: Date;
  level: OrderLevel;
  status: OrderStatus;
  volunteerUserId: string;
  assignedByUserId: string;
  actualMinutes: number;
  paidMinutes: number;
  confirmedByUserId: string;
  disputeReason: string;
  decisionNote: string;
  rating: { stars: number; comment: string; byUserId: string; at: Date; counted: boolean } | null;
  cancelReason: string;
  holds: OrderHold[];
  phase: OrderPhase | null;
  /** Counts state changes; event ids are `<order id>#<revision>`, so a retried step repeats the id. */
  revision: number;
  /** Idempotency-Keys of finished steps: `<step>:<user id>:<key>`. */
  requestKeys: string[];
  escalations: { fromLevel: OrderLevel; toLevel: OrderLevel; at: Date }[];
  createdAt: Date;
}

export type LinkStatus = 'pending' | 'approved' | 'revoked';

/** A family link between two residents; its id is the pair of user ids, sorted, so one per pair. */
export interface FamilyLinkDocument {
  _id: string;
  requesterUserId: string;
  requesterCommunityId: string;
  relativeUserId: string;
  relativeCommunityId: string;
  relationship: string;
  status: LinkStatus;
  requesterPays: boolean;
  relativePays: boolean;
  createdAt: Date;
  decidedAt: Date | null;
}

/** What an organizer recorded about a resident for pool eligibility. */
export interface BeneficiaryDocument {
  _id: string;
  communityId: string;
  poolEligible: boolean;
  birthDate: string;
  updatedByUserId: string;
  updatedAt: Date;
}

/**
 * A volunteer's ratings. `inflight` holds the ids of orders whose rating was added here but not
 * yet marked counted on the order, so a repeated add is a no-op (the ledger's marker protocol).
 */
export interface ReputationDocument {
  _id: string;
  ratingCount: number;
  starsTotal: number;
  inflight: string[];
}

export function createModels(connection: Connection) {
  const holdSchema = new Schema<OrderHold>(
    {
      transferId: String,
      payerKind: String,
      payerUserId: String,
      payerCommunityId: String,
      minutes: Number,
      state: String,
      postedMinutes: { type: Number, default: 0 },
    },
    { _id: false },
  );
  const orderSchema = new Schema<OrderDocument>({
    _id: String,
    communityId: { type: String, required: true },
    street: { type: String, default: '' },
    requesterUserId: { type: String, required: true },
    beneficiaryUserId: { type: String, required: true },
    category: { type: String, required: true },
    description: { type: String, required: true },
    place: { type: String, default: '' },
    startAt: { type: Date, required: true },
    minutes: { type: Number, required: true },
    acceptBy: { type: Date, required: true },
    level: { type: String, default: 'grid' },
    status: { type: String, required: true },
    volunteerUserId: { type: String, default: '' },
    assignedByUserId: { type: String, default: '' },
    actualMinutes: { type: Number, default: 0 },
    paidMinutes: { type: Number, default: 0 },
    confirmedByUserId: { type: String, default: '' },
    disputeReason: { type: String, default: '' },
    decisionNote: { type: String, default: '' },
    rating: { type: new Schema({ stars: Number, comment: String, byUserId: String, at: Date, counted: Boolean }, { _id: false }), default: null },
    cancelReason: { type: String, default: '' },
    holds: { type: [holdSchema], default: [] },
    phase: {
      type: new Schema<OrderPhase>(
        {
          name: String,
          token: String,
          leaseUntil: Date,
          volunteerUserId: String,
          assignedByUserId: String,
          minutes: Number,
          target: String,
          reason: String,
          actorUserId: String,
          requestKey: String,
          step: String,
        },
        { _id: false },
      ),
      default: null,
    },
    revision: { type: Number, default: 0 },
    requestKeys: { type: [String], default: [] },
    escalations: { type: [{ _id: false, fromLevel: String, toLevel: String, at: Date }], default: [] },
    createdAt: { type: Date, default: () => new Date() },
    ...outboxSchemaFields,
  });
  // Real MongoDB uses these; mongo-java-server scans (docs/architecture.md, known limits).
  orderSchema.index({ communityId: 1, status: 1, createdAt: -1 });
  orderSchema.index({ status: 1, acceptBy: 1 });
  orderSchema.index({ 'phase.leaseUntil': 1 }, { sparse: true });
  const linkSchema = new Schema<FamilyLinkDocument>({
    _id: String,
    requesterUserId: { type: String, required: true },
    requesterCommunityId: { type: String, default: '' },
    relativeUserId: { type: String, required: true },
    relativeCommunityId: { type: String, default: '' },
    relationship: { type: String, required: true },
    status: { type: String, required: true },
    requesterPays: { type: Boolean, default: false },
    relativePays: { type: Boolean, default: false },
    createdAt: { type: Date, default: () => new Date() },
    decidedAt: { type: Date, default: null },
  });
  linkSchema.index({ requesterUserId: 1 });
  linkSchema.index({ relativeUserId: 1 });
  return {
    orders: connection.model<OrderDocument>('ServiceOrder', orderSchema),
    links: connection.model<FamilyLinkDocument>('FamilyLink', linkSchema),
    beneficiaries: connection.model<BeneficiaryDocument>(
      'Beneficiary',
      new Schema<BeneficiaryDocument>({
        _id: String,
        communityId: { type: String, required: true },
        poolEligible: { type: Boolean, default: false },
        birthDate: { type: String, default: '' },
        updatedByUserId: { type: String, default: '' },
        updatedAt: { type: Date, default: () => new Date() },
      }),
    ),
    reputations: connection.model<ReputationDocument>(
      'Reputation',
      new Schema<ReputationDocument>({
        _id: String,
        ratingCount: { type: Number, default: 0 },
        starsTotal: { type: Number, default: 0 },
        inflight: { type: [String], default: [] },
      }),
    ),
  };
}

export type TimebankModels = ReturnType<typeof createModels>;

/** Collections whose documents carry outbox events, for the relay. */
export const outboxCollections = ['serviceorders'];
