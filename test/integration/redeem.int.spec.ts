import { topics } from '@lovepoints/events';
import { callUnary, createClients } from '@lovepoints/grpc';
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { api, communityWithOrganizer, eventually, refresh, register, type Session, uniqueName } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';
import { platform } from '../support/platform';

/**
 * The love-points supermarket end to end through the gateway: shops and shelves, orders with
 * pickup codes, cancels and expiry, counter sales, settlement, and every refusal; plus races,
 * crash recovery and the ledger's own verification.
 */
describe('love-points supermarket', () => {
  const clients = createClients({
    volunteer: '127.0.0.1:1',
    points: platform.TEST_POINTS_GRPC_ADDRESS,
    redeem: platform.TEST_REDEEM_GRPC_ADDRESS,
    timebank: '127.0.0.1:1',
  });
  const service = { deadlineMs: 20_000 };
  let organizer: Session;
  let communityId: string;
  let connection: mongoose.Connection;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
    connection = await mongoose.createConnection(platform.TEST_MONGO_URL, { dbName: platform.TEST_REDEEM_MONGO_DB }).asPromise();
  });
  afterAll(async () => {
    Object.values(clients).forEach((client) => client.close());
    await connection.close();
  });

  /** A shop with a fresh owner (signed in again, so the shopkeeper role is in the token). */
  async function openShop(): Promise<{ shopId: string; keeper: Session }> {
    const owner = await register(communityId, '店主');
    const shop = await api('POST', '/api/v1/shops', { token: organizer.token, body: { name: uniqueName('爱心超市'), ownerUserId: owner.userId } });
    expect(shop.status).toBe(201);
    return { shopId: shop.body.id, keeper: await refresh(owner) };
  }

  async function listItem(shop: { shopId: string; keeper: Session }, item: Record<string, unknown> = {}): Promise<string> {
    const created = await api('POST', `/api/v1/shops/${shop.shopId}/items`, {
      token: shop.keeper.token,
      body: { name: '鸡蛋', description: '土鸡蛋一枚', pricePoints: 5, stock: 10, ...item },
    });
    expect(created.status).toBe(201);
    return created.body.id;
  }

  async function resident(points: number): Promise<Session> {
    const session = await register(communityId, '居民');
    if (points > 0) {
      const award = await api('POST', '/api/v1/points/awards', {
        token: organizer.token,
        body: { userId: session.userId, points, reason: '社区议事', category: 'adjustment' },
      });
      expect(award.status).toBe(201);
    }
    return session;
  }

  const balance = async (session: Session) =>
    (await api('GET', '/api/v1/points/balance', { token: session.token })).body as { points: number; heldPoints: number };
  const order = (session: Session, itemId: string, quantity: number, headers: Record<string, string> = {}) =>
    api('POST', '/api/v1/redemptions', { token: session.token, body: { itemId, quantity }, headers });
  const pickup = (keeper: Session, shopId: string, pickupCode: string) =>
    api('POST', `/api/v1/shops/${shopId}/pickups`, { token: keeper.token, body: { pickupCode } });
  const itemOf = async (shop: { shopId: string; keeper: Session }, itemId: string) =>
    (await api('GET', `/api/v1/shops/${shop.shopId}/items`, { token: shop.keeper.token })).body.items.find((item: { id: string }) => item.id === itemId);
  const shopAccount = (shopId: string) =>
    callUnary(clients.points, 'openAccount', { owner: { kind: 'shop', id: shopId, communityId }, asset: 'POINTS' }, service);
  const sweep = (asOf: Date) => callUnary(clients.redeem, 'sweepOrders', { asOf: asOf.toISOString() }, service);
  async function ledgerIsSound() {
    const verified = await callUnary(clients.points, 'verifyLedger', {}, { deadlineMs: 60_000 });
    expect(verified.differences).toEqual([]);
    expect(verified.sums.find((sum) => sum.asset === 'POINTS')?.postedSum ?? 0).toBe(0);
  }

  it('lets the owner keep shelves, and nobody else', async () => {
    const shop = await openShop();
    const other = await openShop();
    const stranger = await resident(0);
    expect((await api('POST', `/api/v1/shops/${shop.shopId}/items`, { token: stranger.token, body: { name: '米', pricePoints: 10, stock: 1 } })).status).toBe(
      403,
    );
    expect(
      (await api('POST', `/api/v1/shops/${shop.shopId}/items`, { token: other.keeper.token, body: { name: '米', pricePoints: 10, stock: 1 } })).status,
    ).toBe(403);
    const bad = await api('POST', `/api/v1/shops/${shop.shopId}/items`, {
      token: shop.keeper.token,
      body: { name: '', pricePoints: 0.5, stock: -1, imageUrl: 'http://insecure.example/egg.jpg' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error: { path: string }) => error.path)).toEqual(expect.arrayContaining(['name', 'pricePoints', 'stock', 'imageUrl']));

    const itemId = await listItem(shop, { perPersonLimit: 3, limitPeriod: 'week', imageUrl: 'https://cdn.example/egg.jpg' });
    const patched = await api('PATCH', `/api/v1/shops/${shop.shopId}/items/${itemId}`, { token: shop.keeper.token, body: { pricePoints: 6, stock: 30 } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ pricePoints: 6, stock: 30, perPersonLimit: 3, limitPeriod: 'week', active: true, activeFrom: null });
    expect((await api('PATCH', `/api/v1/shops/${shop.shopId}/items/${itemId}`, { token: other.keeper.token, body: { stock: 0 } })).status).toBe(403);
    expect((await api('PATCH', `/api/v1/shops/${other.shopId}/items/${itemId}`, { token: other.keeper.token, body: { stock: 0 } })).status).toBe(404);
    expect((await api('PATCH', `/api/v1/shops/${shop.shopId}/items/${itemId}`, { token: shop.keeper.token, body: {} })).status).toBe(400);

    // Residents see what is on sale; the owner sees everything.
    await api('PATCH', `/api/v1/shops/${shop.shopId}/items/${itemId}`, { token: shop.keeper.token, body: { active: false } });
    expect((await api('GET', `/api/v1/shops/${shop.shopId}/items`, { token: stranger.token })).body.items).toEqual([]);
    expect((await api('GET', `/api/v1/shops/${shop.shopId}/items`, { token: shop.keeper.token })).body.items).toHaveLength(1);
    const elsewhere = await communityWithOrganizer();
    expect((await api('GET', `/api/v1/shops/${shop.shopId}/items`, { token: elsewhere.organizer.token })).status).toBe(404);
  });

  it('orders, hands over on the pickup code, and refuses the code everywhere after', async () => {
    const recorder = await recordTopic(testKafka(), [topics.redeemOrder]);
    try {
      const shop = await openShop();
      const other = await openShop();
      const itemId = await listItem(shop);
      const buyer = await resident(30);
      const placed = await order(buyer, itemId, 2);
      expect(placed.status).toBe(201);
      expect(placed.body).toMatchObject({ status: 'pending_pickup', pricePoints: 10, quantity: 2, kind: 'order' });
      expect(placed.body.pickupCode).toMatch(/^\d{12}$/);
      expect(placed.body.qrPayload).toContain(placed.body.pickupCode);
      expect(Date.parse(placed.body.expiresAt) - Date.now()).toBeGreaterThan(47 * 3600_000);
      expect(await balance(buyer)).toMatchObject({ points: 20, heldPoints: 10 });
      expect((await itemOf(shop, itemId)).stock).toBe(8);
      const mine = await api('GET', '/api/v1/redemptions', { token: buyer.token });
      expect(mine.body.items[0]).toMatchObject({ id: placed.body.id, pickupCode: placed.body.pickupCode });

      // Another shop's owner, at their own shop or at this one, gets nothing.
      expect((await pickup(other.keeper, other.shopId, placed.body.pickupCode)).body.code).toBe('pickup_code_unknown');
      expect((await pickup(other.keeper, shop.shopId, placed.body.pickupCode)).status).toBe(403);
      expect((await pickup(buyer, shop.shopId, placed.body.pickupCode)).status).toBe(403);

      const handedOver = await pickup(shop.keeper, shop.shopId, placed.body.qrPayload);
      expect(handedOver.status).toBe(200);
      expect(handedOver.body).toMatchObject({ redemptionId: placed.body.id, status: 'fulfilled', pickupCode: null });
      expect(await balance(buyer)).toMatchObject({ points: 20, heldPoints: 0 });
      expect((await shopAccount(shop.shopId)).balancePosted).toBe(10);

      const reused = await pickup(shop.keeper, shop.shopId, placed.body.pickupCode);
      expect(reused.status).toBe(409);
      expect(reused.body.code).toBe('pickup_code_used');
      const cancel = await api('POST', `/api/v1/redemptions/${placed.body.id}/cancel`, { token: buyer.token });
      expect(cancel.status).toBe(409);
      expect(cancel.body.code).toBe('already_fulfilled');
      expect((await itemOf(shop, itemId)).stock).toBe(8);

      const events = await eventually(async () => {
        const found = recorder.messages.map((message) => JSON.parse(message.value!.toString())).filter((event) => event.subject === placed.body.id);
        return found.length >= 2 ? found : undefined;
      });
      expect(events.map((event) => event.type)).toEqual(['RedemptionPlaced', 'RedemptionFulfilled']);
      expect(events[1].data).toMatchObject({ redemptionId: placed.body.id, shopId: shop.shopId, userId: buyer.userId, pricePoints: 10, quantity: 2 });
    } finally {
      await recorder.stop();
    }
  });

  it('cancels a pending order: points back, stock back, code dead', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 3 });
    const buyer = await resident(20);
    const placed = (await order(buyer, itemId, 3)).body;
    expect((await itemOf(shop, itemId)).stock).toBe(0);
    const cancelled = await api('POST', `/api/v1/redemptions/${placed.id}/cancel`, { token: buyer.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await api('POST', `/api/v1/redemptions/${placed.id}/cancel`, { token: buyer.token })).body.status).toBe('cancelled');
    expect(await balance(buyer)).toMatchObject({ points: 20, heldPoints: 0 });
    expect((await itemOf(shop, itemId)).stock).toBe(3);
    const late = await pickup(shop.keeper, shop.shopId, placed.pickupCode);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('order_cancelled');
    const stranger = await resident(0);
    expect((await api('POST', `/api/v1/redemptions/${placed.id}/cancel`, { token: stranger.token })).status).toBe(404);
  });

  it('lets exactly 10 of 50 racing residents have the last 10 eggs, and returns every other point', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 10, pricePoints: 5 });
    const residents: Session[] = [];
    for (let batch = 0; batch < 5; batch += 1) residents.push(...(await Promise.all(Array.from({ length: 10 }, () => resident(20)))));
    const outcomes = await Promise.all(residents.map((session) => order(session, itemId, 1)));
    const winners = residents.filter((_, index) => outcomes[index]!.status === 201);
    expect(winners).toHaveLength(10);
    for (const outcome of outcomes.filter((response) => response.status !== 201)) {
      expect(outcome.status).toBe(409);
      expect(outcome.body.code).toBe('out_of_stock');
    }
    expect((await itemOf(shop, itemId)).stock).toBe(0);
    const balances = await Promise.all(residents.map(balance));
    residents.forEach((session, index) => {
      expect(balances[index]).toMatchObject(winners.includes(session) ? { points: 15, heldPoints: 5 } : { points: 20, heldPoints: 0 });
    });
    const item = await connection.collection('items').findOne({ _id: itemId as never });
    expect(item?.reservations).toHaveLength(10);
    await ledgerIsSound();
  });

  it('expires an order not picked up by its deadline: points and stock back', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 4 });
    const buyer = await resident(10);
    const placed = (await order(buyer, itemId, 2)).body;
    expect((await sweep(new Date(Date.now() + 24 * 3600_000))).expired).toBe(0);
    expect((await sweep(new Date(Date.now() + 49 * 3600_000))).expired).toBeGreaterThanOrEqual(1);
    const expired = await api('GET', `/api/v1/redemptions/${placed.id}`, { token: buyer.token });
    expect(expired.body).toMatchObject({ status: 'expired', pickupCode: null });
    expect(await balance(buyer)).toMatchObject({ points: 10, heldPoints: 0 });
    expect((await itemOf(shop, itemId)).stock).toBe(4);
    expect((await pickup(shop.keeper, shop.shopId, placed.pickupCode)).body.code).toBe('pickup_code_expired');
    expect((await api('POST', `/api/v1/redemptions/${placed.id}/cancel`, { token: buyer.token })).body.code).toBe('order_expired');
  });

  it('undoes orders a crash left between stock reservation and hold, and after the hold', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 5, pricePoints: 4 });
    const buyer = await resident(12);
    const orders = connection.collection('orders');
    const items = connection.collection('items');
    const stuck = (orderId: string) => ({
      _id: orderId as never,
      kind: 'order',
      communityId,
      shopId: shop.shopId,
      itemId,
      itemName: '鸡蛋',
      userId: buyer.userId,
      quantity: 1,
      unitPricePoints: 4,
      pricePoints: 4,
      phase: 'reserving',
      releaseTo: null,
      failureCode: '',
      leaseUntil: new Date(Date.now() - 1000),
      allowanceId: '',
      pickupNonce: 0,
      pickupKey: `crash-${orderId}`,
      expiresAt: new Date(Date.now() + 3600_000),
      idempotencyKey: '',
      pickupIdempotencyKey: '',
      createdAt: new Date(),
      fulfilledAt: null,
      closedAt: null,
      settlementId: null,
      outbox: [],
      outboxLeaseUntil: null,
    });
    // Died after taking the stock, before the hold.
    const beforeHold = `crash-${randomUUID()}`;
    await orders.insertOne(stuck(beforeHold));
    await items.updateOne({ _id: itemId as never }, { $inc: { stock: -1 }, $push: { reservations: beforeHold } as never });
    // Died after the hold, before recording pending_pickup.
    const afterHold = `crash-${randomUUID()}`;
    await orders.insertOne(stuck(afterHold));
    await items.updateOne({ _id: itemId as never }, { $inc: { stock: -1 }, $push: { reservations: afterHold } as never });
    await callUnary(
      clients.points,
      'createHold',
      {
        transfer: {
          transferId: `redeem:${afterHold}`,
          debit: { kind: 'member', id: buyer.userId, communityId },
          credit: { kind: 'shop', id: shop.shopId, communityId },
          asset: 'POINTS',
          amount: 4,
          reason: 'redemption',
          reference: afterHold,
        },
        timeoutMs: 3600_000,
      },
      service,
    );
    expect((await itemOf(shop, itemId)).stock).toBe(3);
    expect(await balance(buyer)).toMatchObject({ points: 8, heldPoints: 4 });

    expect((await sweep(new Date())).recovered).toBeGreaterThanOrEqual(2);
    for (const orderId of [beforeHold, afterHold]) {
      const recovered = await api('GET', `/api/v1/redemptions/${orderId}`, { token: buyer.token });
      expect(recovered.body).toMatchObject({ status: 'failed', failureCode: 'interrupted' });
    }
    expect((await itemOf(shop, itemId)).stock).toBe(5);
    expect(await balance(buyer)).toMatchObject({ points: 12, heldPoints: 0 });
    expect((await callUnary(clients.points, 'getTransfer', { transferId: `redeem:${afterHold}` }, service)).state).toBe('voided');
    // Sweeping again changes nothing.
    await sweep(new Date());
    expect((await itemOf(shop, itemId)).stock).toBe(5);
    await ledgerIsSound();
  });

  it('refuses bad orders with the reason and reserves nothing', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 5 });
    const inactiveId = await listItem(shop, { name: '停售商品' });
    await api('PATCH', `/api/v1/shops/${shop.shopId}/items/${inactiveId}`, { token: shop.keeper.token, body: { active: false } });
    const futureId = await listItem(shop, { name: '预售商品', activeFrom: new Date(Date.now() + 3600_000).toISOString() });
    const buyer = await resident(50);
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['quantity 0', { itemId, quantity: 0 }, 400, 'quantity'],
      ['quantity -1', { itemId, quantity: -1 }, 400, 'quantity'],
      ['quantity 1.5', { itemId, quantity: 1.5 }, 400, 'quantity'],
      ['quantity as text', { itemId, quantity: '2' }, 400, 'quantity'],
      ['quantity missing', { itemId }, 400, 'quantity'],
      ['quantity 101', { itemId, quantity: 101 }, 400, 'quantity'],
      ['no item', { quantity: 1 }, 400, 'itemId'],
      ['unknown item', { itemId: randomUUID(), quantity: 1 }, 404, 'item_not_found'],
      ['inactive item', { itemId: inactiveId, quantity: 1 }, 422, 'item_inactive'],
      ['item not on sale yet', { itemId: futureId, quantity: 1 }, 422, 'not_on_sale_yet'],
    ];
    for (const [label, body, status, reason] of cases) {
      const response = await api('POST', '/api/v1/redemptions', { token: buyer.token, body });
      expect({ label, status: response.status }).toEqual({ label, status });
      if (status === 400) expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(reason);
      else expect(response.body.code).toBe(reason);
    }
    expect((await api('PATCH', `/api/v1/shops/${shop.shopId}`, { token: organizer.token, body: { status: 'closed' } })).body.status).toBe('closed');
    const closed = await order(buyer, itemId, 1);
    expect(closed.status).toBe(422);
    expect(closed.body.code).toBe('shop_closed');
    const poor = await resident(4);
    await api('PATCH', `/api/v1/shops/${shop.shopId}`, { token: organizer.token, body: { status: 'open' } });
    const tooPoor = await order(poor, itemId, 1);
    expect(tooPoor.status).toBe(409);
    expect(tooPoor.body.code).toBe('insufficient_balance');

    expect((await itemOf(shop, itemId)).stock).toBe(5);
    expect(await balance(buyer)).toMatchObject({ points: 50, heldPoints: 0 });
    expect(await balance(poor)).toMatchObject({ points: 4, heldPoints: 0 });
    expect((await api('GET', '/api/v1/redemptions?status=pending_pickup', { token: buyer.token })).body.items).toEqual([]);
  });

  it('answers 429 after too many wrong pickup codes at one shop', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 20 });
    const buyer = await resident(100);
    // A busy counter: more right codes at once than wrong ones are allowed, and none is refused.
    const rush = await Promise.all(Array.from({ length: 12 }, () => order(buyer, itemId, 1)));
    const handedOver = await Promise.all(rush.map((placed) => pickup(shop.keeper, shop.shopId, placed.body.pickupCode)));
    expect(handedOver.map((response) => response.status)).toEqual(Array.from({ length: 12 }, () => 200));
    const placed = (await order(buyer, itemId, 1)).body;
    const wrong = await Promise.all(Array.from({ length: 12 }, (_, index) => pickup(shop.keeper, shop.shopId, String(100000000000 + index))));
    expect(wrong.filter((response) => response.status === 404)).toHaveLength(10);
    expect(wrong.filter((response) => response.status === 429)).toHaveLength(2);
    const blocked = await pickup(shop.keeper, shop.shopId, placed.pickupCode);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('too_many_pickup_failures');
    // Other shops are not affected.
    const other = await openShop();
    expect((await pickup(other.keeper, other.shopId, '000000000000')).status).toBe(404);
  });

  it('enforces per-person limits, also under concurrency, and frees them on cancel', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { stock: 100, pricePoints: 1, perPersonLimit: 2, limitPeriod: 'day' });
    const buyer = await resident(20);
    const racing = await Promise.all(Array.from({ length: 5 }, () => order(buyer, itemId, 1)));
    expect(racing.filter((response) => response.status === 201)).toHaveLength(2);
    for (const refusal of racing.filter((response) => response.status !== 201)) expect(refusal.body.code).toBe('per_person_limit_reached');
    expect(await balance(buyer)).toMatchObject({ points: 18, heldPoints: 2 });
    expect((await itemOf(shop, itemId)).stock).toBe(98);
    const first = racing.find((response) => response.status === 201)!.body;
    await api('POST', `/api/v1/redemptions/${first.id}/cancel`, { token: buyer.token });
    expect((await order(buyer, itemId, 1)).status).toBe(201);
    expect((await order(buyer, itemId, 1)).status).toBe(422);
    // Someone else has their own allowance.
    expect((await order(await resident(5), itemId, 2)).status).toBe(201);
  });

  it('replays an order for the same Idempotency-Key and refuses the key for another order', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop);
    const buyer = await resident(30);
    const headers = { 'idempotency-key': `order-${randomUUID()}` };
    const [first, second] = await Promise.all([order(buyer, itemId, 2, headers), order(buyer, itemId, 2, headers)]);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.pickupCode).toBe(first.body.pickupCode);
    expect(await balance(buyer)).toMatchObject({ points: 20, heldPoints: 10 });
    const misuse = await order(buyer, itemId, 3, headers);
    expect(misuse.status).toBe(409);
    expect(misuse.body.code).toBe('idempotency_key_reused');
  });

  it('sells at the counter on a member code, once per code', async () => {
    const shop = await openShop();
    const itemId = await listItem(shop, { pricePoints: 3 });
    const otherItemId = await listItem(shop, { name: '酱油', pricePoints: 2 });
    const buyer = await resident(10);
    const memberCode = await api('GET', '/api/v1/me/member-code', { token: buyer.token });
    expect(memberCode.status).toBe(200);
    const sell = (code: string, item = itemId) =>
      api('POST', `/api/v1/shops/${shop.shopId}/counter-sales`, { token: shop.keeper.token, body: { memberCode: code, itemId: item, quantity: 2 } });
    const sold = await sell(memberCode.body.qrPayload);
    expect(sold.status).toBe(201);
    expect(sold.body).toMatchObject({ kind: 'counter', status: 'fulfilled', userId: buyer.userId, pricePoints: 6 });
    expect((await sell(memberCode.body.code)).body.id).toBe(sold.body.id);
    expect((await sell(memberCode.body.code, otherItemId)).body.code).toBe('member_code_used');
    expect(await balance(buyer)).toMatchObject({ points: 4, heldPoints: 0 });
    const [payload, signature] = (memberCode.body.code as string).split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), u: shop.keeper.userId })).toString('base64url')}.${signature}`;
    expect((await sell(forged)).body.code).toBe('member_code_invalid');
    expect(
      (await api('POST', `/api/v1/shops/${shop.shopId}/counter-sales`, { token: buyer.token, body: { memberCode: 'x', itemId, quantity: 1 } })).status,
    ).toBe(403);
  });

  it('settles exactly what the ledger says the shop took, and closes the loop', async () => {
    const shop = await openShop();
    const eggs = await listItem(shop, { pricePoints: 5 });
    const rice = await listItem(shop, { name: '大米', pricePoints: 20 });
    const buyer = await resident(100);
    for (const [itemId, quantity] of [
      [eggs, 2],
      [rice, 1],
      [eggs, 1],
    ] as const) {
      const placed = (await order(buyer, itemId, quantity)).body;
      expect((await pickup(shop.keeper, shop.shopId, placed.pickupCode)).status).toBe(200);
    }
    const pending = (await order(buyer, rice, 1)).body;
    const memberCode = (await api('GET', '/api/v1/me/member-code', { token: buyer.token })).body.code;
    await api('POST', `/api/v1/shops/${shop.shopId}/counter-sales`, { token: shop.keeper.token, body: { memberCode, itemId: eggs, quantity: 1 } });

    const report = await api('GET', `/api/v1/shops/${shop.shopId}/settlement`, { token: shop.keeper.token });
    expect(report.status).toBe(200);
    // Eggs 2 + 1 by code and 1 at the counter (4 × 5), rice 1 × 20; the rice still waiting is not in.
    expect(report.body).toMatchObject({ pointsReceived: 40, orders: 4, outstandingPoints: 40, ledgerBalancePoints: 40 });
    expect(report.body.lines).toEqual([
      { itemId: rice, itemName: '大米', quantity: 1, points: 20, orders: 1 },
      { itemId: eggs, itemName: '鸡蛋', quantity: 4, points: 20, orders: 3 },
    ]);
    const account = await shopAccount(shop.shopId);
    expect(account).toMatchObject({ balancePosted: 40, creditsPending: pending.pricePoints });
    expect(await balance(buyer)).toMatchObject({ points: 40, heldPoints: 20 });

    const csv = await api('GET', `/api/v1/shops/${shop.shopId}/settlement?format=csv`, { token: organizer.token });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = (csv.body as string).trim().split('\r\n');
    expect(rows[0]).toBe('redemptionId,kind,fulfilledAt,itemId,itemName,quantity,points,settlementId');
    expect(rows.slice(1).reduce((total, row) => total + Number(row.split(',')[6]), 0)).toBe(40);
    const accepted = await api('GET', `/api/v1/shops/${shop.shopId}/settlement`, { token: organizer.token, headers: { accept: 'text/csv' } });
    expect(accepted.body).toBe(csv.body);
    const stranger = await resident(0);
    expect((await api('GET', `/api/v1/shops/${shop.shopId}/settlement`, { token: stranger.token })).status).toBe(403);

    expect((await api('POST', `/api/v1/shops/${shop.shopId}/settlements`, { token: shop.keeper.token, body: {} })).status).toBe(403);
    const key = { 'idempotency-key': `settle-${randomUUID()}` };
    const settled = await api('POST', `/api/v1/shops/${shop.shopId}/settlements`, { token: organizer.token, body: {}, headers: key });
    expect(settled.status).toBe(201);
    expect(settled.body).toMatchObject({ points: 40, orders: 4, status: 'settled', transferId: `settlement:${shop.shopId}:1` });
    const replayed = await api('POST', `/api/v1/shops/${shop.shopId}/settlements`, { token: organizer.token, body: {}, headers: key });
    expect(replayed.body.id).toBe(settled.body.id);
    expect((await shopAccount(shop.shopId)).balancePosted).toBe(0);
    const transfer = await callUnary(clients.points, 'getTransfer', { transferId: settled.body.transferId }, service);
    expect(transfer).toMatchObject({ state: 'posted', amount: 40, reason: 'settlement', creditAccountId: `community_issuance:${communityId}:POINTS` });

    // What comes after the settlement is outstanding again, and settled next time.
    expect((await pickup(shop.keeper, shop.shopId, pending.pickupCode)).status).toBe(200);
    const after = (await api('GET', `/api/v1/shops/${shop.shopId}/settlement`, { token: organizer.token })).body;
    expect(after).toMatchObject({ pointsReceived: 60, outstandingPoints: 20, ledgerBalancePoints: 20 });
    expect(after.settlements).toHaveLength(1);
    const next = await api('POST', `/api/v1/shops/${shop.shopId}/settlements`, { token: organizer.token, body: {} });
    expect(next.body).toMatchObject({ points: 20, orders: 1, from: settled.body.to });
    expect((await shopAccount(shop.shopId)).balancePosted).toBe(0);
    const future = await api('POST', `/api/v1/shops/${shop.shopId}/settlements`, {
      token: organizer.token,
      body: { to: new Date(Date.now() + 3600_000).toISOString() },
    });
    expect(future.status).toBe(400);
    await ledgerIsSound();
  });
});
