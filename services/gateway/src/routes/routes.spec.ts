import { isAction, policy, rolesFor } from '@lovepoints/grpc';
import { openApiDocument } from '../http/route';
import { apiRoutes } from './index';

describe('the route table against the policy table', () => {
  it('names a known action on every signed-in route, and none on public ones', () => {
    for (const route of apiRoutes) {
      const where = `${route.method} ${route.path}`;
      if (route.access === 'public') expect({ where, action: route.action }).toEqual({ where, action: undefined });
      else expect({ where, known: route.action !== undefined && isAction(route.action) }).toEqual({ where, known: true });
    }
  });

  it('audits only routes with an action, and the privileged ones the issue names', () => {
    const audited = apiRoutes.filter((route) => route.audit !== undefined).map((route) => route.action);
    expect(audited).not.toContain(undefined);
    for (const action of [
      'role.grant',
      'volunteer.approve',
      'points.award',
      'points.rules.write',
      'attendance.record',
      'activity.complete',
      'shop.create',
      'shop.settle',
      'timebank.dispute.resolve',
    ])
      expect(audited).toContain(action);
  });

  it('uses every action of the policy table on some route', () => {
    // Reading another member's points is the balance and statement routes with `userId`, checked in the handler.
    const used = new Set<string>([...apiRoutes.map((route) => route.action ?? ''), 'points.read_member']);
    expect(Object.keys(policy).filter((action) => !used.has(action))).toEqual([]);
  });

  it('documents each route’s action and roles from the table', () => {
    const document = openApiDocument(apiRoutes);
    const award = document.paths?.['/api/v1/points/awards']?.post;
    expect(award?.description).toContain('points.award');
    for (const role of rolesFor('points.award')) expect(award?.description).toContain(role);
    expect(award?.description).toContain('audit log');
  });
});
