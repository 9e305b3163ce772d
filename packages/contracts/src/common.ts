import { z } from 'zod';

/**
 * Input schemas of every command, shared by the gateway (HTTP bodies, and the OpenAPI document
 * generated from them) and by the services (gRPC requests), so both edges enforce one rule.
 * Unknown fields are stripped, so a body cannot smuggle in fields such as `roles`.
 */
export const identifier = z.string().trim().min(1, 'required').max(100);
export const phone = z.string().regex(/^1\d{10}$/, 'expected an 11-digit mobile number starting with 1');
/** Passwords people pick first and attackers try first; refused outright. */
const commonPasswords = new Set([
  'password',
  'password1',
  'password123',
  'qwerty123',
  'qwertyuiop',
  'iloveyou',
  'woaini1314',
  'abc12345',
  'abcd1234',
  'a1234567',
  'admin123',
]);

/** Password rules: 8 to 128 characters, not only digits, at least 4 different characters, not a common one. */
export const password = z
  .string()
  .min(8, 'at least 8 characters')
  .max(128)
  .refine((value) => !/^\d+$/.test(value), 'not only digits')
  .refine((value) => new Set(value).size >= 4, 'at least 4 different characters')
  .refine((value) => !commonPasswords.has(value.toLowerCase()), 'too common; choose another');
export const personName = z.string().trim().min(1, 'required').max(50);
export const dateTime = z.iso.datetime({ offset: true, message: 'expected an ISO-8601 date-time, e.g. 2026-11-23T09:00:00+08:00' });
export const roleName = z.enum(['resident', 'volunteer', 'shopkeeper', 'organizer', 'street_admin']);

/** Page size: default 20, at most 100 (API.md "Lists"). */
export const pageLimit = z.coerce.number().int().min(1).max(100).default(20);
export const pageCursor = z.string().max(500).default('');
