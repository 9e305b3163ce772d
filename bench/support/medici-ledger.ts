import { Book, initModels } from 'medici';
import mongoose from 'mongoose';
import type { OperationResult } from './load';

/**
 * The comparison ledger: medici (double-entry journals on mongoose) in this process, with the
 * same rule as ours, that a member cannot spend more than it has. Medici's own way to enforce
 * that is a multi-document transaction (commit, re-read the balance, abort if negative), which
 * mongo-java-server does not offer; so, as an application without transactions would, each
 * spend reads the balance, refuses if it is short, then books the journal entry. That check is
 * not atomic: concurrent spends of one account can overdraw it (the overdraft probe shows it).
 */
export class MediciLedger {
  /** Journal entries booked by this ledger object: the book's size, as the run grows it. */
  committed = 0;

  private constructor(private readonly book: Book) {}

  static async open(mongoUrl: string, databaseName: string): Promise<MediciLedger> {
    // medici keeps its models on mongoose's default connection. The pool size is the points
    // service's (packages/mongo), so neither side gets more connections to the same server.
    await mongoose.connect(mongoUrl, { dbName: databaseName, maxPoolSize: 20, serverSelectionTimeoutMS: 5000 });
    await initModels();
    return new MediciLedger(new Book('lovepoints_bench'));
  }

  static memberAccount(memberId: string): string {
    return `Members:${memberId}`;
  }

  static shopAccount(shopId: string): string {
    return `Shops:${shopId}`;
  }

  /** Issues points to a member: the community's issuance account goes negative, as in ours. */
  async fund(communityId: string, memberId: string, amount: number): Promise<void> {
    await this.book.entry('issuance').debit(`Issuance:${communityId}`, amount).credit(MediciLedger.memberAccount(memberId), amount).commit();
    this.committed += 1;
  }

  /** A member pays a shop, refused when the member's balance does not cover it. */
  async spend(memberId: string, shopId: string, amount: number): Promise<OperationResult> {
    const member = MediciLedger.memberAccount(memberId);
    // medici's balance is credits minus debits, so a funded member's balance is positive.
    const { balance } = await this.book.balance({ account: member });
    if (balance < amount) return { succeeded: 0, refused: ['insufficient_balance'] };
    await this.book.entry('redemption').debit(member, amount).credit(MediciLedger.shopAccount(shopId), amount).commit();
    this.committed += 1;
    return { succeeded: 1, refused: [] };
  }

  async balanceOf(memberId: string): Promise<number> {
    return (await this.book.balance({ account: MediciLedger.memberAccount(memberId) })).balance;
  }

  async close(): Promise<void> {
    await mongoose.disconnect();
  }
}
