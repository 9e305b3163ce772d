import { DomainError, notFound, permissionDenied } from '@lovepoints/errors';
import { authorize, type Caller, requireCaller } from '@lovepoints/grpc';
import { insertUnique } from '@lovepoints/mongo';
import { type LedgerClient, memberOwner, poolOwner } from './clients/ledger.client';
import type { PeopleClient } from './clients/people.client';
import { familyLinkId, poolEligible } from './domain/order-rules';
import type { BeneficiaryDocument, FamilyLinkDocument, TimebankModels } from './store/models';

function linkView(link: FamilyLinkDocument) {
  return {
    id: link._id,
    requesterUserId: link.requesterUserId,
    relativeUserId: link.relativeUserId,
    relationship: link.relationship,
    status: link.status,
    requesterPays: link.requesterPays,
    relativePays: link.relativePays,
    createdAt: link.createdAt.toISOString(),
  };
}

export function requireCommunityMember(caller: Caller | undefined): Caller {
  const known = requireCaller(caller);
  if (known.communityId === '') throw new DomainError('business_rule', 'no_community', 'The time bank is for members of a community.');
  return known;
}

export function requireOrganizer(caller: Caller | undefined, action: 'timebank.pool.read' | 'timebank.beneficiary.write'): Caller {
  return authorize(requireCommunityMember(caller), action);
}

/**
 * Family links (近亲属), the community donation pool and who the pool pays for. A link is asked
 * for by phone and approved by the relative; each side says whether they pay for the other.
 * Linked relatives may confirm each other's orders; paying relatives are asked for minutes
 * after the beneficiary's own. A revoked link does neither.
 */
export class FamilyService {
  constructor(
    private readonly models: TimebankModels,
    private readonly people: PeopleClient,
    private readonly ledger: LedgerClient,
    private readonly poolMinimumAge: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async createLink(caller: Caller | undefined, input: { relativePhone: string; relationship: string; requesterPays: boolean }) {
    const known = requireCommunityMember(caller);
    const relative = await this.people.byPhone(input.relativePhone).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === 'not_found') {
        throw new DomainError('not_found', 'relative_not_found', 'Nobody is registered with that phone.', [
          { path: 'relativePhone', message: 'not registered' },
        ]);
      }
      throw error;
    });
    if (relative.id === known.userId) {
      throw new DomainError('invalid_argument', 'self_link', 'You cannot link to yourself.', [{ path: 'relativePhone', message: 'your own phone' }]);
    }
    const fields = {
      requesterUserId: known.userId,
      requesterCommunityId: known.communityId,
      relativeUserId: relative.id,
      relativeCommunityId: relative.communityId,
      relationship: input.relationship,
      status: 'pending' as const,
      requesterPays: input.requesterPays,
      relativePays: false,
      createdAt: this.now(),
      decidedAt: null,
    };
    const id = familyLinkId(known.userId, relative.id);
    // A revoked link may be asked for again; any other existing link is a conflict.
    const renewed = await this.models.links.findOneAndUpdate({ _id: id, status: 'revoked' }, { $set: fields }, { new: true }).lean();
    if (renewed !== null) return linkView(renewed);
    const created = await insertUnique(
      () => this.models.links.create({ _id: id, ...fields }),
      () => new DomainError('conflict', 'link_exists', 'You are already linked with that person, or a request is pending.'),
    );
    return linkView(created.toObject());
  }

  async approveLink(caller: Caller | undefined, linkId: string, relativePays: boolean) {
    const known = requireCaller(caller);
    const link = await this.models.links.findById(linkId).lean();
    if (link === null || (link.relativeUserId !== known.userId && link.requesterUserId !== known.userId)) throw notFound('The family link');
    if (link.relativeUserId !== known.userId) throw permissionDenied('Only the relative asked can approve the link.');
    const approved = await this.models.links
      .findOneAndUpdate({ _id: linkId, status: 'pending' }, { $set: { status: 'approved', relativePays, decidedAt: this.now() } }, { new: true })
      .lean();
    if (approved === null) throw new DomainError('conflict', 'link_not_pending', `The link is ${link.status}.`);
    return linkView(approved);
  }

  async revokeLink(caller: Caller | undefined, linkId: string) {
    const known = requireCaller(caller);
    const link = await this.models.links.findById(linkId).lean();
    if (link === null || (link.relativeUserId !== known.userId && link.requesterUserId !== known.userId)) throw notFound('The family link');
    const revoked = await this.models.links
      .findOneAndUpdate({ _id: linkId, status: { $in: ['pending', 'approved'] } }, { $set: { status: 'revoked', decidedAt: this.now() } }, { new: true })
      .lean();
    if (revoked === null) throw new DomainError('conflict', 'link_revoked', 'The link was already revoked.');
    return linkView(revoked);
  }

  async listLinks(caller: Caller | undefined) {
    const known = requireCaller(caller);
    const links = await this.models.links
      .find({ $or: [{ requesterUserId: known.userId }, { relativeUserId: known.userId }] })
      .sort({ createdAt: -1 })
      .limit(100)
      .lean();
    return { links: links.map(linkView) };
  }

  /** Whether two people are linked by an approved link now. */
  async linked(firstUserId: string, secondUserId: string): Promise<boolean> {
    if (firstUserId === secondUserId) return false;
    return (await this.models.links.exists({ _id: familyLinkId(firstUserId, secondUserId), status: 'approved' })) !== null;
  }

  /** Whether `payerUserId` is, right now, a linked relative who agreed to pay for the beneficiary. */
  async paysFor(payerUserId: string, beneficiaryUserId: string): Promise<boolean> {
    const link = await this.models.links.findById(familyLinkId(payerUserId, beneficiaryUserId)).lean();
    return link !== null && link.status === 'approved' && (link.requesterUserId === payerUserId ? link.requesterPays : link.relativePays);
  }

  /** Approved relatives who agreed to pay for the beneficiary, oldest link first. */
  async payingRelatives(beneficiaryUserId: string): Promise<{ userId: string; communityId: string }[]> {
    const links = await this.models.links
      .find({
        status: 'approved',
        $or: [
          { requesterUserId: beneficiaryUserId, relativePays: true },
          { relativeUserId: beneficiaryUserId, requesterPays: true },
        ],
      })
      .sort({ createdAt: 1 })
      .limit(20)
      .lean();
    return links.map((link) =>
      link.requesterUserId === beneficiaryUserId
        ? { userId: link.relativeUserId, communityId: link.relativeCommunityId }
        : { userId: link.requesterUserId, communityId: link.requesterCommunityId },
    );
  }

  async poolPaysFor(beneficiaryUserId: string): Promise<boolean> {
    return poolEligible(await this.models.beneficiaries.findById(beneficiaryUserId).lean(), this.now(), this.poolMinimumAge);
  }

  async setBeneficiary(caller: Caller | undefined, userId: string, input: { poolEligible: boolean; birthDate?: string | undefined }) {
    const organizer = requireOrganizer(caller, 'timebank.beneficiary.write');
    const person = await this.people.byId(userId);
    authorize(organizer, 'timebank.beneficiary.write', { communityId: person.communityId, what: 'The resident' });
    const record = await this.models.beneficiaries
      .findOneAndUpdate(
        { _id: userId },
        {
          $set: {
            communityId: person.communityId,
            poolEligible: input.poolEligible,
            birthDate: input.birthDate ?? '',
            updatedByUserId: organizer.userId,
            updatedAt: this.now(),
          },
        },
        { upsert: true, new: true },
      )
      .lean();
    return this.beneficiaryView(record);
  }

  private beneficiaryView(record: BeneficiaryDocument) {
    return {
      userId: record._id,
      communityId: record.communityId,
      poolEligible: record.poolEligible,
      birthDate: record.birthDate,
      eligibleNow: poolEligible(record, this.now(), this.poolMinimumAge),
    };
  }

  /** Minutes from the caller to the community pool, once per donation id. */
  async donate(caller: Caller | undefined, input: { minutes: number; donationId: string }) {
    const donor = requireCommunityMember(caller);
    try {
      const transfer = await this.ledger.transfer({
        transferId: `timebank:donation:${donor.userId}:${input.donationId}`,
        debit: memberOwner(donor.userId, donor.communityId),
        credit: poolOwner(donor.communityId),
        minutes: input.minutes,
        reason: 'donation',
        reference: donor.userId,
      });
      return { transferId: transfer.id, communityId: donor.communityId, minutes: transfer.amount, createdAt: transfer.createdAt };
    } catch (error) {
      if (error instanceof DomainError && error.code === 'insufficient_balance') {
        throw new DomainError('conflict', 'insufficient_time', 'You do not have that many minutes to donate.', [
          { path: 'minutes', message: 'more than your balance' },
        ]);
      }
      if (error instanceof DomainError && error.code === 'transfer_id_reused') {
        throw new DomainError('conflict', 'idempotency_key_reused', 'That Idempotency-Key was used for a different donation.');
      }
      throw error;
    }
  }

  async poolStatement(caller: Caller | undefined, page: { limit: number; cursor: string }) {
    const organizer = requireOrganizer(caller, 'timebank.pool.read');
    const pool = poolOwner(organizer.communityId);
    const [account, statement] = await Promise.all([this.ledger.account(pool), this.ledger.statement(pool, page)]);
    return {
      communityId: organizer.communityId,
      availableMinutes: account.available,
      heldMinutes: account.held,
      items: statement.items.map((item) => ({
        transferId: item.transferId,
        minutes: item.amount,
        direction: item.direction,
        reason: item.reason,
        reference: item.reference,
        balanceAfter: item.balanceAfter,
        at: item.at,
      })),
      nextCursor: statement.nextCursor,
    };
  }

  async reputation(caller: Caller | undefined, userId: string) {
    requireCaller(caller);
    const record = await this.models.reputations.findById(userId).lean();
    const count = record?.ratingCount ?? 0;
    return { userId, ratingCount: count, ratingAverage: count === 0 ? 0 : Math.round(((record?.starsTotal ?? 0) / count) * 100) / 100 };
  }
}
