import type { Connection } from '@lovepoints/mongo';
import { Schema } from 'mongoose';

export interface ServiceRequestDocument {
  _id: string;
  communityId: string;
  requesterUserId: string;
  beneficiaryUserId: string;
  category: string;
  description: string;
  startAt: Date;
  minutes: number;
  status: 'open' | 'accepted' | 'in_progress' | 'completed' | 'verified' | 'rated' | 'cancelled';
  createdAt: Date;
}

export function createModels(connection: Connection) {
  const requestSchema = new Schema<ServiceRequestDocument>({
    _id: String,
    communityId: { type: String, required: true },
    requesterUserId: { type: String, required: true },
    beneficiaryUserId: { type: String, required: true },
    category: { type: String, required: true },
    description: { type: String, required: true },
    startAt: { type: Date, required: true },
    minutes: { type: Number, required: true },
    status: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  });
  requestSchema.index({ communityId: 1, status: 1, createdAt: -1 });
  return { requests: connection.model<ServiceRequestDocument>('ServiceRequest', requestSchema) };
}

export type TimebankModels = ReturnType<typeof createModels>;
