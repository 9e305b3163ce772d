import { CollectionWrites, type Connection } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import { connectSpecDatabase } from '../support/mongo';

/** The plain write commands the ledger's hot path uses, against the MongoDB-protocol server. */
describe('CollectionWrites', () => {
  let connection: Connection;
  let writes: CollectionWrites;

  beforeAll(async () => {
    connection = await connectSpecDatabase(`lovepoints_writes_${randomUUID().slice(0, 8)}`);
    writes = new CollectionWrites(connection, 'items');
  });
  afterAll(() => connection.close());

  it('inserts, and names the items whose id was taken', async () => {
    expect(
      await writes.insertEach([
        { _id: 'a', n: 1 },
        { _id: 'b', n: 1 },
      ]),
    ).toEqual([]);
    const failures = await writes.insertEach([
      { _id: 'c', n: 1 },
      { _id: 'a', n: 2 },
      { _id: 'd', n: 1 },
      { _id: 'b', n: 2 },
    ]);
    expect(failures.map((failure) => [failure.index, failure.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    const stored = await connection.collection('items').find({}).sort({ _id: 1 }).toArray();
    expect(stored).toEqual([
      { _id: 'a', n: 1 },
      { _id: 'b', n: 1 },
      { _id: 'c', n: 1 },
      { _id: 'd', n: 1 },
    ]);
  });

  it('counts matched and changed documents over more than one command', async () => {
    const ids = Array.from({ length: 1500 }, (_, index) => `many-${index}`);
    expect(await writes.insertEach(ids.map((_id) => ({ _id, n: 0 })))).toEqual([]);
    const result = await writes.updateEach([
      ...ids.map((_id) => ({ filter: { _id }, update: { $inc: { n: 1 } } })),
      { filter: { _id: 'many-0', n: 99 }, update: { $inc: { n: 1 } } },
      { filter: { _id: 'a' }, update: { $set: { n: 1 } } },
    ]);
    expect(result).toEqual({ matched: 1501, modified: 1500 });
    const counted = await connection
      .collection<{ _id: string }>('items')
      .find({ n: 1 }, { projection: { _id: 1 } })
      .toArray();
    expect(counted.filter((item) => item._id.startsWith('many-')).length).toBe(1500);
  });

  it('rejects when an update fails, after applying the others', async () => {
    await writes.insertEach([{ _id: 'text', n: 'not a number' }]);
    await expect(
      writes.updateEach([
        { filter: { _id: 'text' }, update: { $inc: { n: 1 } } },
        { filter: { _id: 'c' }, update: { $inc: { n: 1 } } },
      ]),
    ).rejects.toThrow('update failed');
    expect(await connection.collection('items').findOne({ _id: 'c' as never })).toEqual({ _id: 'c', n: 2 });
  });
});
