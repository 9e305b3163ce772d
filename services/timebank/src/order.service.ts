import {
  serviceOrderCompleted,
  serviceOrderDisputed,
  serviceOrderEscalated,
  serviceOrderPlaced,
  serviceOrderRated,
  serviceOrderStarted,
} from '@lovepoints/events';
import { DomainError, notFound, permissionDenied } from '@lovepoints/errors';
import { authorize, type Caller, hasRole, requireCaller } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import type { PeopleClient } from './clients/people.client';
import { completionBoundMinutes, nextLevel } from './domain/order-rules';
import { type FamilyService, requireCommunityMember } from './family.service';
import { type OrderPayments, stepKey } from './order-payments';
import type { OrderDocument, OrderPhase, OrderStatus, TimebankModels } from './store/models';
import type { OrderChange, OrderEvent, OrderRepository } from './store/order.repository';

export interface OrderSettings {
  acceptWindowMs: number;
  startGraceMs: number;
  startHorizonMs: number;
  overrunFactor: number;
}

export function orderView(order: OrderDocument) {
  return {
    id: order._id,
    communityId: order.communityId,
    requesterUserId: order.requesterUserId,
    beneficiaryUserId: order.beneficiaryUserId,
    category: order.category,
    description: order.description,
    place: order.place,
    startAt: order.startAt.toISOString(),
    minutes: order.minutes,
    acceptBy: order.acceptBy.toISOString(),
    level: order.level,
    status: order.status,
    volunteerUserId: order.volunteerUserId,
    assignedByUserId: order.assignedByUserId,
    actualMinutes: order.actualMinutes,
    paidMinutes: order.paidMinutes,
    holds: order.holds.map((hold) => ({
      transferId: hold.transferId,
      payerKind: hold.payerKind,
      payerUserId: hold.payerUserId,
      minutes: hold.minutes,
      state: hold.state,
      postedMinutes: hold.postedMinutes,
    })),
    disputeReason: order.disputeReason,
    ratingStars: order.rating?.stars ?? 0,
    ratingComment: order.rating?.comment ?? '',
    cancelReason: order.cancelReason,
    confirmedByUserId: order.confirmedByUserId,
    createdAt: order.createdAt.toISOString(),
  };
}

const conflict = (code: string, message: string) => new DomainError('conflict', code, message);
const refused = (code: string, message: string) => new DomainError('business_rule', code, message);
const wrongStatus = (order: OrderDocument, action: string) => conflict('wrong_status', `The order is ${order.status}; it cannot be ${action} now.`);

/** Statuses from which each side may cancel (the organizer's list includes the requester's). */
const cancellableByRequester: OrderStatus[] = ['open', 'accepted'];
const cancellableByOrganizer: OrderStatus[] = ['open', 'accepted', 'in_progress', 'completed', 'disputed'];

type StepPhase = Pick<OrderPhase, 'name'> & Partial<Omit<OrderPhase, 'name' | 'token' | 'leaseUntil'>>;

/** A step's record with the fields it does not use left empty. */
function stepPhase(phase: StepPhase): Omit<OrderPhase, 'token' | 'leaseUntil'> {
  return { volunteerUserId: '', assignedByUserId: '', minutes: 0, target: '', reason: '', actorUserId: '', requestKey: '', step: '', ...phase };
}

/**
 * Service orders in five steps (五步工作法): taken (grabbed by a volunteer or dispatched by an
 * organizer), carried out (started, completed with the actual minutes), verified by the
 * beneficiary's side (or decided by an organizer after a dispute), paid, and rated. Steps that
 * move no minutes are one conditional update with their event; steps that do run in
 * OrderPayments under the order's lease.
 */
export class OrderService {
  constructor(
    private readonly models: TimebankModels,
    private readonly orders: OrderRepository,
    private readonly payments: OrderPayments,
    private readonly family: FamilyService,
    private readonly people: PeopleClient,
    private readonly settings: OrderSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async createRequest(
    caller: Caller | undefined,
    input: {
      category: string;
      description: string;
      startAt: string;
      minutes: number;
      place: string;
      acceptBy?: string | undefined;
      beneficiaryUserId?: string | undefined;
    },
  ) {
    const requester = requireCommunityMember(caller);
    const now = this.now();
    const startAt = new Date(input.startAt);
    if (startAt.getTime() <= now.getTime()) {
      throw new DomainError('invalid_argument', 'start_in_past', 'The service must start in the future.', [
        { path: 'startAt', message: 'must be in the future' },
      ]);
    }
    if (startAt.getTime() > now.getTime() + this.settings.startHorizonMs) {
      throw new DomainError('invalid_argument', 'start_too_far', 'The service is too far ahead to be taken now.', [
        { path: 'startAt', message: `at most ${Math.round(this.settings.startHorizonMs / 86_400_000)} days ahead` },
      ]);
    }
    const acceptBy =
      input.acceptBy === undefined ? new Date(Math.min(startAt.getTime(), now.getTime() + this.settings.acceptWindowMs)) : new Date(input.acceptBy);
    if (acceptBy.getTime() <= now.getTime()) {
      throw new DomainError('invalid_argument', 'accept_by_in_past', 'The acceptance deadline must be in the future.', [
        { path: 'acceptBy', message: 'must be in the future' },
      ]);
    }
    const beneficiaryUserId = input.beneficiaryUserId ?? requester.userId;
    let beneficiary = { communityId: requester.communityId, street: requester.street };
    if (beneficiaryUserId !== requester.userId) {
      // Asking for someone else needs an approved family link; the order belongs to their community.
      if (!(await this.family.linked(requester.userId, beneficiaryUserId))) {
        throw refused('not_linked', 'You can ask for service for yourself or for a linked relative only.');
      }
      beneficiary = await this.people.byId(beneficiaryUserId);
    }
    const order = (
      await this.models.orders.create({
        _id: randomUUID(),
        communityId: beneficiary.communityId,
        street: beneficiary.street,
        requesterUserId: requester.userId,
        beneficiaryUserId,
        category: input.category,
        description: input.description,
        place: input.place,
        startAt,
        minutes: input.minutes,
        acceptBy,
        level: 'grid',
        status: 'open',
        createdAt: now,
      })
    ).toObject();
    // The placed event is written in a second update of the same document; a crash between the
    // two leaves an order without its first event, never an event without its order.
    const placed = await this.orders.commit(
      order,
      {},
      {},
      {
        definition: serviceOrderPlaced,
        at: now,
        data: (facts) => ({ ...facts, minutes: order.minutes, startAt: order.startAt.toISOString() }),
      },
    );
    return orderView(placed ?? order);
  }

  async listRequests(caller: Caller | undefined, input: { status?: string | undefined }) {
    const known = requireCaller(caller);
    const scope = known.communityId === '' ? [{ requesterUserId: known.userId }] : [{ communityId: known.communityId }, { requesterUserId: known.userId }];
    const orders = await this.models.orders
      .find({ $or: scope, ...(input.status === undefined ? {} : { status: input.status }) }, { outbox: 0 })
      .sort({ createdAt: -1 })
      .limit(100)
      .lean();
    return { requests: orders.map(orderView) };
  }

  async getRequest(caller: Caller | undefined, orderId: string) {
    return orderView(await this.visibleOrder(requireCaller(caller), orderId));
  }

  /**
   * Members of the order's community see it (volunteers look for orders to take), as do the
   * requester, the beneficiary and their linked relatives, and the street's admins. Anyone else
   * gets a 404, so ids of other communities reveal nothing.
   */
  private async visibleOrder(caller: Caller, orderId: string): Promise<OrderDocument> {
    const order = await this.orders.find(orderId);
    if (order === null) throw notFound('The order');
    const visible =
      caller.communityId === order.communityId ||
      caller.userId === order.requesterUserId ||
      caller.userId === order.beneficiaryUserId ||
      (hasRole(caller, 'street_admin') && caller.street !== '' && caller.street === order.street) ||
      (await this.family.linked(caller.userId, order.beneficiaryUserId));
    if (!visible) throw notFound('The order');
    return order;
  }

  /** The beneficiary, or someone linked to them now (a requester on their behalf included). */
  private async onBeneficiarySide(caller: Caller, order: OrderDocument): Promise<boolean> {
    return caller.userId === order.beneficiaryUserId || (await this.family.linked(caller.userId, order.beneficiaryUserId));
  }

  private isOrganizerOf(caller: Caller, order: OrderDocument): boolean {
    return hasRole(caller, 'organizer') && caller.communityId === order.communityId;
  }

  private replayed(order: OrderDocument, step: string, caller: Caller, key: string): boolean {
    return key !== '' && order.requestKeys.includes(stepKey(step, caller.userId, key));
  }

  /** Claims the order for a step that moves minutes and runs it; explains a lost claim. */
  private async runStep(order: OrderDocument, condition: Record<string, unknown>, phase: StepPhase, action: string) {
    const claimed = await this.orders.claim(order._id, condition, stepPhase(phase));
    if (claimed === null) {
      const current = await this.orders.find(order._id);
      if (current !== null && current.phase !== null) throw conflict('order_busy', 'Someone else is acting on this order right now.');
      throw wrongStatus(current ?? order, action);
    }
    return orderView(await this.payments.run(claimed));
  }

  async acceptRequest(caller: Caller | undefined, orderId: string, idempotencyKey: string) {
    const volunteer = requireCaller(caller);
    if (!hasRole(volunteer, 'volunteer')) throw permissionDenied('Only approved volunteers take orders.');
    const order = await this.visibleOrder(volunteer, orderId);
    if (this.replayed(order, 'accept', volunteer, idempotencyKey)) return orderView(order);
    if (order.communityId !== volunteer.communityId) throw notFound('The order');
    if (volunteer.userId === order.beneficiaryUserId || volunteer.userId === order.requesterUserId) {
      throw refused('own_order', 'You cannot take an order you asked for or receive.');
    }
    if (order.status !== 'open') throw conflict('order_taken', `The order is ${order.status}.`);
    return this.runStep(
      order,
      { status: 'open' },
      { name: 'take', volunteerUserId: volunteer.userId, actorUserId: volunteer.userId, requestKey: idempotencyKey, step: 'accept' },
      'taken',
    );
  }

  async assignRequest(caller: Caller | undefined, orderId: string, volunteerUserId: string, idempotencyKey: string) {
    const organizer = requireCaller(caller);
    const order = await this.visibleOrder(organizer, orderId);
    authorize(organizer, 'timebank.order.assign', { communityId: order.communityId, street: order.street, what: 'The order' });
    if (this.replayed(order, 'assign', organizer, idempotencyKey)) return orderView(order);
    const volunteer = await this.people.byId(volunteerUserId).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === 'not_found') {
        throw new DomainError('invalid_argument', 'unknown_volunteer', 'No volunteer has that id.', [{ path: 'volunteerUserId', message: 'unknown' }]);
      }
      throw error;
    });
    if (volunteer.communityId !== order.communityId || !volunteer.roles.includes('volunteer')) {
      throw refused('not_a_volunteer', 'Orders go to approved volunteers of the order’s community.');
    }
    if (volunteer.id === order.beneficiaryUserId || volunteer.id === order.requesterUserId) {
      throw refused('own_order', 'A volunteer cannot serve an order they asked for or receive.');
    }
    return this.runStep(
      order,
      { status: 'open' },
      {
        name: 'take',
        volunteerUserId: volunteer.id,
        assignedByUserId: organizer.userId,
        actorUserId: organizer.userId,
        requestKey: idempotencyKey,
        step: 'assign',
      },
      'dispatched',
    );
  }

  async declineRequest(caller: Caller | undefined, orderId: string) {
    const volunteer = requireCaller(caller);
    const order = await this.visibleOrder(volunteer, orderId);
    if (order.volunteerUserId !== volunteer.userId) throw permissionDenied('Only the volunteer serving the order can decline it.');
    return this.runStep(
      order,
      { status: 'accepted', volunteerUserId: volunteer.userId },
      { name: 'release', target: 'open', reason: 'declined', actorUserId: volunteer.userId },
      'declined',
    );
  }

  async startRequest(caller: Caller | undefined, orderId: string) {
    const volunteer = requireCaller(caller);
    const order = await this.visibleOrder(volunteer, orderId);
    if (order.volunteerUserId !== volunteer.userId) throw permissionDenied('Only the volunteer serving the order can start it.');
    if (order.status !== 'accepted') throw wrongStatus(order, 'started');
    return this.simpleStep(order, 'accepted', { status: 'in_progress' }, 'started', {
      definition: serviceOrderStarted,
      at: this.now(),
      data: (facts) => facts,
    });
  }

  async completeRequest(caller: Caller | undefined, orderId: string, actualMinutes: number) {
    const actor = requireCaller(caller);
    const order = await this.visibleOrder(actor, orderId);
    const byOrganizer = this.isOrganizerOf(actor, order);
    if (order.volunteerUserId !== actor.userId && !byOrganizer)
      throw permissionDenied('Only the volunteer serving the order (or an organizer) records its minutes.');
    const boundMinutes = completionBoundMinutes(order.minutes, this.settings.overrunFactor, byOrganizer);
    if (actualMinutes > boundMinutes) {
      throw new DomainError('business_rule', 'minutes_over_bound', `At most ${boundMinutes} minutes can be recorded without an organizer.`, [
        { path: 'actualMinutes', message: `at most ${boundMinutes}` },
      ]);
    }
    if (order.status !== 'in_progress') throw wrongStatus(order, 'completed');
    return this.simpleStep(order, 'in_progress', { status: 'completed', actualMinutes }, 'completed', {
      definition: serviceOrderCompleted,
      at: this.now(),
      data: (facts) => ({ ...facts, actualMinutes }),
    });
  }

  async confirmRequest(caller: Caller | undefined, orderId: string, idempotencyKey: string) {
    const confirmer = requireCaller(caller);
    const order = await this.visibleOrder(confirmer, orderId);
    if (!(await this.onBeneficiarySide(confirmer, order))) throw permissionDenied('Only the beneficiary or a linked relative confirms the service.');
    if (this.replayed(order, 'confirm', confirmer, idempotencyKey)) return orderView(order);
    if (order.status !== 'completed') throw wrongStatus(order, 'confirmed');
    return this.runStep(
      order,
      { status: 'completed' },
      { name: 'pay', minutes: order.actualMinutes, actorUserId: confirmer.userId, requestKey: idempotencyKey, step: 'confirm' },
      'confirmed',
    );
  }

  async disputeRequest(caller: Caller | undefined, orderId: string, reason: string) {
    const disputer = requireCaller(caller);
    const order = await this.visibleOrder(disputer, orderId);
    if (!(await this.onBeneficiarySide(disputer, order))) throw permissionDenied('Only the beneficiary or a linked relative disputes the service.');
    if (order.status !== 'completed') throw wrongStatus(order, 'disputed');
    return this.simpleStep(order, 'completed', { status: 'disputed', disputeReason: reason }, 'disputed', {
      definition: serviceOrderDisputed,
      at: this.now(),
      data: (facts) => ({ ...facts, reason, byUserId: disputer.userId }),
    });
  }

  /** An organizer decides a dispute: pay (the recorded minutes or a corrected number) or cancel. */
  async resolveDispute(
    caller: Caller | undefined,
    orderId: string,
    input: { decision: 'pay' | 'cancel'; minutes?: number | undefined; note: string },
    idempotencyKey: string,
  ) {
    const organizer = requireCaller(caller);
    const order = await this.visibleOrder(organizer, orderId);
    authorize(organizer, 'timebank.dispute.resolve', { communityId: order.communityId, street: order.street, what: 'The order' });
    if (this.replayed(order, 'resolve', organizer, idempotencyKey)) return orderView(order);
    if (order.status !== 'disputed') throw wrongStatus(order, 'decided');
    const common = { actorUserId: organizer.userId, requestKey: idempotencyKey, step: 'resolve' };
    if (input.decision === 'cancel') {
      return this.runStep(
        order,
        { status: 'disputed' },
        { name: 'release', target: 'cancelled', reason: input.note || 'dispute upheld', ...common },
        'decided',
      );
    }
    return this.runStep(order, { status: 'disputed' }, { name: 'pay', minutes: input.minutes ?? order.actualMinutes, ...common }, 'decided');
  }

  async rateRequest(caller: Caller | undefined, orderId: string, input: { stars: number; comment: string }) {
    const rater = requireCaller(caller);
    const order = await this.visibleOrder(rater, orderId);
    if (!(await this.onBeneficiarySide(rater, order))) throw permissionDenied('Only the beneficiary or a linked relative rates the service.');
    if (order.status === 'rated') throw conflict('already_rated', 'The order was already rated.');
    if (order.status !== 'verified') throw wrongStatus(order, 'rated');
    const at = this.now();
    const rated = await this.simpleStep(
      order,
      'verified',
      { status: 'rated', rating: { stars: input.stars, comment: input.comment, byUserId: rater.userId, at, counted: false } },
      'rated',
      { definition: serviceOrderRated, at, data: (facts) => ({ ...facts, stars: input.stars }) },
    );
    await this.countRating(order._id, order.volunteerUserId, input.stars);
    return rated;
  }

  /**
   * Adds a rating to the volunteer's reputation once: the order id goes into the reputation's
   * `inflight` list with the increment, so a repeat is a no-op; then the order is marked counted
   * and the marker released. Recovery repeats this for rated orders not marked counted.
   */
  private async countRating(orderId: string, volunteerUserId: string, stars: number): Promise<void> {
    try {
      await this.models.reputations.updateOne(
        { _id: volunteerUserId, inflight: { $ne: orderId } },
        { $inc: { ratingCount: 1, starsTotal: stars }, $push: { inflight: orderId } },
        { upsert: true },
      );
    } catch (error) {
      // The upsert met an existing reputation that already has this order's marker: counted.
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 11000)) throw error;
    }
    await this.models.orders.updateOne({ _id: orderId, 'rating.counted': false }, { $set: { 'rating.counted': true } });
    await this.models.reputations.updateOne({ _id: volunteerUserId }, { $pull: { inflight: orderId } });
  }

  async recoverRatings(limit = 100): Promise<number> {
    const uncounted = await this.models.orders.find({ status: 'rated', 'rating.counted': false }, { volunteerUserId: 1, rating: 1 }).limit(limit).lean();
    for (const order of uncounted) await this.countRating(order._id, order.volunteerUserId, order.rating?.stars ?? 0);
    return uncounted.length;
  }

  async cancelRequest(caller: Caller | undefined, orderId: string, reason: string, idempotencyKey: string) {
    const actor = requireCaller(caller);
    const order = await this.visibleOrder(actor, orderId);
    if (this.replayed(order, 'cancel', actor, idempotencyKey)) return orderView(order);
    const allowed = this.isOrganizerOf(actor, order)
      ? cancellableByOrganizer
      : actor.userId === order.requesterUserId || (await this.onBeneficiarySide(actor, order))
        ? cancellableByRequester
        : [];
    if (allowed.length === 0) throw permissionDenied('Only the requester, the beneficiary’s side or an organizer cancels an order.');
    if (!allowed.includes(order.status)) throw wrongStatus(order, 'cancelled');
    return this.runStep(
      order,
      { status: { $in: allowed } },
      { name: 'release', target: 'cancelled', reason: reason || 'cancelled', actorUserId: actor.userId, requestKey: idempotencyKey, step: 'cancel' },
      'cancelled',
    );
  }

  /** A step that moves no minutes: one conditional update with its event. */
  private async simpleStep<Data>(order: OrderDocument, from: OrderStatus, change: OrderChange, action: string, event: OrderEvent<Data>) {
    const updated = await this.orders.commit(order, { status: from, phase: null }, change, event);
    if (updated === null) {
      const current = await this.orders.find(order._id);
      throw current?.phase ? conflict('order_busy', 'Someone else is acting on this order right now.') : wrongStatus(current ?? order, action);
    }
    return orderView(updated);
  }

  /**
   * Moves open orders past their acceptance deadline up a level (grid → community → street),
   * with a fresh deadline; reopens accepted orders not started by start + grace, voiding their
   * holds. An order at the street stays there, open, until someone takes it.
   */
  async escalateOverdue(asOf: Date): Promise<{ escalated: number; reopened: number }> {
    let escalated = 0;
    const overdue = await this.models.orders
      .find({ status: 'open', phase: null, level: { $ne: 'street' }, acceptBy: { $lte: asOf } }, { outbox: 0 })
      .limit(1000)
      .lean();
    for (const order of overdue) {
      const toLevel = nextLevel(order.level);
      if (toLevel === undefined) continue;
      const moved = await this.orders.commit(
        order,
        { status: 'open', phase: null, level: order.level },
        { level: toLevel, acceptBy: new Date(asOf.getTime() + this.settings.acceptWindowMs) },
        {
          definition: serviceOrderEscalated,
          at: asOf,
          data: (facts) => ({ ...facts, fromLevel: order.level as 'grid' | 'community', toLevel: toLevel as 'community' | 'street' }),
        },
        { push: { escalations: { fromLevel: order.level, toLevel, at: asOf } } },
      );
      if (moved !== null) escalated += 1;
    }
    let reopened = 0;
    const late = await this.models.orders
      .find({ status: 'accepted', phase: null, startAt: { $lte: new Date(asOf.getTime() - this.settings.startGraceMs) } }, { outbox: 0 })
      .limit(1000)
      .lean();
    for (const order of late) {
      const claimed = await this.orders.claim(
        order._id,
        { status: 'accepted', startAt: order.startAt },
        stepPhase({ name: 'release', target: 'open', reason: 'not_started', step: 'reopen' }),
      );
      if (claimed === null) continue;
      await this.payments.run(claimed);
      reopened += 1;
    }
    return { escalated, reopened };
  }
}
