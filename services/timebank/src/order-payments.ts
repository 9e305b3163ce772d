import { serviceOrderAccepted, serviceOrderCancelled, serviceOrderReopened, serviceOrderVerified } from '@lovepoints/events';
import { DomainError } from '@lovepoints/errors';
import type { Logger } from '@lovepoints/logging';
import { type LedgerClient, memberOwner, payerOwner } from './clients/ledger.client';
import { type PayerCandidate, payerChain, postingPlan } from './domain/order-rules';
import type { FamilyService } from './family.service';
import type { OrderDocument, OrderHold, OrderPhase } from './store/models';
import { type OrderChange, type OrderEvent, type OrderRepository, stepTakenOver } from './store/order.repository';

export function insufficientTime(): DomainError {
  return new DomainError(
    'conflict',
    'insufficient_time',
    'Neither the beneficiary, nor a relative who agreed to pay, nor the community pool (if the beneficiary is eligible) has enough minutes. The order waits.',
  );
}

/** How a finished step's Idempotency-Key is kept on the order. */
export function stepKey(step: string, userId: string, key: string): string {
  return `${step}:${userId}:${key}`;
}

const liveStates: readonly OrderHold['state'][] = ['placing', 'held'];
const isLive = (hold: OrderHold) => liveStates.includes(hold.state);
const holdFact = (hold: OrderHold) => ({ transferId: hold.transferId, payerKind: hold.payerKind, payerUserId: hold.payerUserId, minutes: hold.minutes });

/**
 * The steps that move minutes, each run under the order's lease (see OrderRepository.claim):
 * `take` holds the estimate when a volunteer takes the order, `pay` posts the holds when the
 * order is verified, `release` voids them when it is cancelled or reopened. Every ledger call is
 * idempotent by its transfer id (`timebank:<order id>:hold:<n>`), and each hold is recorded on
 * the order before the ledger is asked, so a step can be run again from the order alone: recovery
 * does exactly that for a step whose runner died, completing it.
 */
export class OrderPayments {
  constructor(
    private readonly orders: OrderRepository,
    private readonly ledger: LedgerClient,
    private readonly family: FamilyService,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Runs the order's current step to its end. */
  async run(order: OrderDocument): Promise<OrderDocument> {
    const phase = order.phase;
    if (phase === null) return order;
    switch (phase.name) {
      case 'take':
        return this.take(order, phase);
      case 'pay':
        return this.pay(order, phase);
      case 'release':
        return this.release(order, phase);
    }
  }

  /** Finishes steps whose runner's lease ran out; safe to run anywhere, any time. */
  async recover(limit = 100): Promise<number> {
    let finished = 0;
    for (const stale of await this.orders.withExpiredLease(limit)) {
      const order = await this.orders.takeOver(stale);
      if (order === null) continue;
      try {
        await this.run(order);
      } catch (error) {
        // A step that ends in a refusal (no payer has the minutes) has still ended.
        if (!(error instanceof DomainError)) throw error;
      }
      finished += 1;
    }
    if (finished > 0) this.logger.warn({ finished }, 'time bank recovery finished interrupted steps');
    return finished;
  }

  /**
   * Ends the running step with `change`. A step that succeeded (it has an event) records the
   * client's Idempotency-Key, so the same request again gets the order instead of a conflict.
   */
  private async finish<Data>(order: OrderDocument, change: OrderChange, event?: OrderEvent<Data>) {
    const phase = order.phase!;
    const requestKey = phase.requestKey === '' || event === undefined ? undefined : stepKey(phase.step, phase.actorUserId, phase.requestKey);
    const finished = await this.orders.commit(order, { 'phase.token': phase.token }, { ...change, holds: order.holds, phase: null }, event, {
      ...(requestKey === undefined ? {} : { requestKey }),
    });
    if (finished === null) throw stepTakenOver();
    return finished;
  }

  private async payers(order: OrderDocument): Promise<PayerCandidate[]> {
    const [relatives, poolPays] = await Promise.all([this.family.payingRelatives(order.beneficiaryUserId), this.family.poolPaysFor(order.beneficiaryUserId)]);
    return payerChain({ userId: order.beneficiaryUserId, communityId: order.communityId }, relatives, poolPays);
  }

  /** Asks the ledger for a hold recorded on the order (again, after a crash); notes the outcome. */
  private async placeRecorded(order: OrderDocument, hold: OrderHold, volunteerUserId: string): Promise<void> {
    const placed = await this.ledger.hold({
      transferId: hold.transferId,
      debit: payerOwner({ kind: hold.payerKind, userId: hold.payerUserId, communityId: hold.payerCommunityId }),
      credit: memberOwner(volunteerUserId, order.communityId),
      minutes: hold.minutes,
      reason: hold.payerKind === 'relative' ? 'family_payment' : 'service_payment',
      reference: order._id,
    });
    hold.state = placed ? 'held' : 'rejected';
  }

  /**
   * Holds `minutes` from the first payer of the chain who has them. The balance is read first so
   * that payers without enough are skipped without leaving refused transfers in the ledger; the
   * hold itself is what decides, under concurrency.
   */
  private async holdFromChain(order: OrderDocument, volunteerUserId: string, minutes: number): Promise<boolean> {
    for (const payer of await this.payers(order)) {
      // Nobody pays themselves: a relative who serves the order is skipped as a payer.
      if (payer.userId === volunteerUserId) continue;
      const { available } = await this.ledger.account(payerOwner(payer));
      if (available < minutes) continue;
      const hold: OrderHold = {
        transferId: `timebank:${order._id}:hold:${order.holds.length}`,
        payerKind: payer.kind,
        payerUserId: payer.userId,
        payerCommunityId: payer.communityId,
        minutes,
        state: 'placing',
        postedMinutes: 0,
      };
      await this.orders.recordHold(order, hold);
      await this.placeRecorded(order, hold, volunteerUserId);
      if (hold.state === 'held') return true;
    }
    return false;
  }

  private async settlePlacing(order: OrderDocument, volunteerUserId: string): Promise<void> {
    for (const hold of order.holds.filter((candidate) => candidate.state === 'placing')) await this.placeRecorded(order, hold, volunteerUserId);
  }

  private async take(order: OrderDocument, phase: OrderPhase): Promise<OrderDocument> {
    await this.settlePlacing(order, phase.volunteerUserId);
    const held = order.holds.some((hold) => hold.state === 'held') || (await this.holdFromChain(order, phase.volunteerUserId, order.minutes));
    if (!held) {
      await this.finish(order, {});
      throw insufficientTime();
    }
    const at = this.now();
    return this.finish(
      order,
      { status: 'accepted', volunteerUserId: phase.volunteerUserId, assignedByUserId: phase.assignedByUserId },
      {
        definition: serviceOrderAccepted,
        at,
        data: (facts) => ({ ...facts, assignedByUserId: phase.assignedByUserId, holds: order.holds.filter((hold) => hold.state === 'held').map(holdFact) }),
      },
    );
  }

  /**
   * Pays `phase.minutes`: holds of relatives who no longer pay (link revoked) are voided, any
   * shortfall (minutes beyond the estimate, an expired hold) is held from the chain, then the
   * holds are posted in order and what is left of them voided. Without enough minutes anywhere,
   * nothing is posted and the order waits.
   */
  private async pay(order: OrderDocument, phase: OrderPhase): Promise<OrderDocument> {
    const volunteerUserId = order.volunteerUserId;
    await this.settlePlacing(order, volunteerUserId);
    for (let round = 0; ; round += 1) {
      for (const hold of order.holds.filter((candidate) => candidate.state === 'held' && candidate.payerKind === 'relative')) {
        if (await this.family.paysFor(hold.payerUserId, order.beneficiaryUserId)) continue;
        await this.ledger.void(hold.transferId);
        hold.state = 'voided';
      }
      const live = order.holds.filter((hold) => hold.state === 'held');
      const shortfall = phase.minutes - live.reduce((sum, hold) => sum + hold.minutes, 0);
      if (shortfall > 0 && !(await this.holdFromChain(order, volunteerUserId, shortfall))) {
        await this.finish(order, {});
        throw insufficientTime();
      }
      const payable = order.holds.filter((hold) => hold.state === 'held');
      const plan = postingPlan(
        payable.map((hold) => hold.minutes),
        phase.minutes,
      );
      let lost = false;
      for (const [index, hold] of payable.entries()) {
        const amount = plan[index]!;
        if (amount === 0) {
          await this.ledger.void(hold.transferId);
          hold.state = 'voided';
        } else if (await this.ledger.post(hold.transferId, amount)) {
          hold.state = 'posted';
          hold.postedMinutes = amount;
        } else {
          // The hold expired before it was posted. Holds are posted in order, so nothing after it
          // has been posted yet: hold the shortfall anew and post again.
          hold.state = 'voided';
          lost = true;
          break;
        }
      }
      if (!lost) break;
      if (round >= 3) throw new DomainError('unavailable', 'holds_expiring', 'The holds of this order keep expiring; retry.');
    }
    const at = this.now();
    return this.finish(
      order,
      { status: 'verified', paidMinutes: phase.minutes, confirmedByUserId: phase.actorUserId },
      {
        definition: serviceOrderVerified,
        at,
        data: (facts) => ({
          ...facts,
          paidMinutes: phase.minutes,
          paidFrom: order.holds.filter((hold) => hold.state === 'posted').map((hold) => ({ ...holdFact(hold), postedMinutes: hold.postedMinutes })),
          confirmedByUserId: phase.actorUserId,
        }),
      },
    );
  }

  /** Voids every live hold, then ends `open` again (reopened) or `cancelled`. */
  private async release(order: OrderDocument, phase: OrderPhase): Promise<OrderDocument> {
    for (const hold of order.holds.filter(isLive)) {
      await this.ledger.void(hold.transferId);
      hold.state = 'voided';
    }
    const at = this.now();
    if (phase.target === 'open') {
      const previousVolunteerUserId = order.volunteerUserId;
      const reason = phase.reason === 'declined' ? ('declined' as const) : ('not_started' as const);
      return this.finish(
        order,
        { status: 'open', volunteerUserId: '', assignedByUserId: '' },
        {
          definition: serviceOrderReopened,
          at,
          data: (facts) => ({ ...facts, reason, previousVolunteerUserId }),
        },
      );
    }
    return this.finish(
      order,
      { status: 'cancelled', cancelReason: phase.reason },
      { definition: serviceOrderCancelled, at, data: (facts) => ({ ...facts, reason: phase.reason, byUserId: phase.actorUserId }) },
    );
  }
}
