import type { Connection } from '@lovepoints/mongo';
import { Schema } from 'mongoose';

export interface ShopDocument {
  _id: string;
  communityId: string;
  name: string;
  ownerUserId: string;
  status: 'open' | 'closed';
  createdByUserId: string;
  createdAt: Date;
}

export function createModels(connection: Connection) {
  const shopSchema = new Schema<ShopDocument>({
    _id: String,
    communityId: { type: String, required: true },
    name: { type: String, required: true },
    ownerUserId: { type: String, required: true, index: true },
    status: { type: String, required: true },
    createdByUserId: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  });
  shopSchema.index({ communityId: 1, name: 1 }, { unique: true });
  return { shops: connection.model<ShopDocument>('Shop', shopSchema) };
}

export type RedeemModels = ReturnType<typeof createModels>;
