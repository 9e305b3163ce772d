import express from 'express';
import { type GatewayContext, mountRoutes, openApiDocument } from '../http/route';
import { apiRoutes } from './index';

/**
 * The endpoints ../shared/API.md promises portals, with the success status it names. Changing
 * this list means changing the contract, which is only ever extended.
 */
const contract: [method: string, path: string, status?: number][] = [
  ['post', '/api/v1/auth/register', 201],
  ['post', '/api/v1/auth/login', 200],
  ['post', '/api/v1/auth/refresh', 200],
  ['get', '/api/v1/me', 200],
  ['post', '/api/v1/communities', 201],
  ['get', '/api/v1/communities', 200],
  ['post', '/api/v1/users/{id}/roles', 200],
  ['post', '/api/v1/volunteers', 201],
  ['post', '/api/v1/volunteers/{id}/approve', 200],
  ['post', '/api/v1/activities', 201],
  ['post', '/api/v1/activities/{id}/publish', 200],
  ['get', '/api/v1/activities', 200],
  ['get', '/api/v1/activities/{id}', 200],
  ['post', '/api/v1/activities/{id}/signups', 201],
  ['delete', '/api/v1/activities/{id}/signups/me', 204],
  ['get', '/api/v1/activities/{id}/checkin-code', 200],
  ['post', '/api/v1/activities/{id}/checkins', 201],
  ['post', '/api/v1/activities/{id}/checkouts', 201],
  ['post', '/api/v1/activities/{id}/complete', 200],
  ['get', '/api/v1/points/balance', 200],
  ['get', '/api/v1/points/statement', 200],
  ['get', '/api/v1/points/leaderboard', 200],
  ['post', '/api/v1/points/awards', 201],
  ['post', '/api/v1/shops', 201],
  ['get', '/api/v1/shops', 200],
  ['post', '/api/v1/shops/{id}/items', 201],
  ['get', '/api/v1/shops/{id}/items', 200],
  ['patch', '/api/v1/shops/{id}/items/{itemId}', 200],
  ['post', '/api/v1/redemptions', 201],
  ['post', '/api/v1/redemptions/{id}/cancel', 200],
  ['post', '/api/v1/shops/{id}/pickups', 200],
  ['get', '/api/v1/redemptions', 200],
  ['get', '/api/v1/shops/{id}/settlement', 200],
  ['post', '/api/v1/timebank/requests', 201],
  ['get', '/api/v1/timebank/requests', 200],
  ['post', '/api/v1/timebank/requests/{id}/accept'],
  ['post', '/api/v1/timebank/requests/{id}/assign'],
  ['post', '/api/v1/timebank/requests/{id}/start'],
  ['post', '/api/v1/timebank/requests/{id}/complete'],
  ['post', '/api/v1/timebank/requests/{id}/confirm', 200],
  ['post', '/api/v1/timebank/requests/{id}/rate'],
  ['post', '/api/v1/timebank/requests/{id}/cancel'],
  ['post', '/api/v1/timebank/family-links', 201],
  ['post', '/api/v1/timebank/family-links/{id}/approve', 200],
  ['post', '/api/v1/timebank/donations', 201],
];

const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

describe('the API contract', () => {
  const document = openApiDocument(apiRoutes);

  it('documents every endpoint of API.md with the status it promises', () => {
    const missing = contract.filter(([method, path]) => document.paths?.[path]?.[method as 'get'] === undefined);
    expect(missing).toEqual([]);
    const wrongStatus = contract.filter(([method, path, status]) => {
      if (status === undefined) return false;
      const route = apiRoutes.find((candidate) => candidate.method === method && openApiPath(candidate.path) === path);
      return route?.successStatus !== status;
    });
    expect(wrongStatus).toEqual([]);
  });

  it('mounts exactly the documented routes, once each', () => {
    const app = express();
    mountRoutes(app, apiRoutes, {} as GatewayContext);
    const mounted = (app.router.stack as { route?: { path: string; methods: Record<string, boolean> } }[])
      .flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((method) => `${method} ${openApiPath(layer.route!.path)}`) : []))
      .sort();
    const documented = Object.entries(document.paths ?? {})
      .flatMap(([path, operations]) => Object.keys(operations ?? {}).map((method) => `${method} ${path}`))
      .sort();
    expect(mounted.length).toBeGreaterThanOrEqual(contract.length);
    expect(new Set(mounted).size).toBe(mounted.length);
    expect(mounted).toEqual(documented);
  });
});
