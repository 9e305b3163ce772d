import { z } from 'zod';

/**
 * Input schemas of every command, shared by the gateway (HTTP bodies, and the OpenAPI document
 * generated from them) and by the services (gRPC requests), so both edges enforce one rule.
 * Unknown fields are stripped, so a body cannot smuggle in fields such as `roles`.
 */
export const identifier = z.string().trim().min(1, 'required').max(100);
export const phone = z.string().regex(/^1\d{10}$/, 'expected an 11-digit mobile number starting with 1');
export const password = z.string().min(8, 'at least 8 characters').max(128);
export const personName = z.string().trim().min(1, 'required').max(50);
export const dateTime = z.iso.datetime({ offset: true, message: 'expected an ISO-8601 date-time, e.g. 2026-11-23T09:00:00+08:00' });
export const roleName = z.enum(['resident', 'volunteer', 'shopkeeper', 'organizer', 'street_admin']);

/** Page size: default 20, at most 100 (API.md "Lists"). */
export const pageLimit = z.coerce.number().int().min(1).max(100).default(20);
export const pageCursor = z.string().max(500).default('');
