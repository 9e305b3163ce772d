import { activityRoutes } from './activities.routes';
import { auditRoutes } from './audit.routes';
import { authRoutes } from './auth.routes';
import { peopleRoutes } from './people.routes';
import { pointsRoutes } from './points.routes';
import { redeemRoutes } from './redeem.routes';
import { reportRoutes } from './reports.routes';
import { teamRoutes } from './teams.routes';
import { timebankRoutes } from './timebank.routes';

/** Every API v1 route; mounted and documented from this one list. */
export const apiRoutes = [
  ...authRoutes,
  ...peopleRoutes,
  ...activityRoutes,
  ...pointsRoutes,
  ...reportRoutes,
  ...redeemRoutes,
  ...timebankRoutes,
  ...teamRoutes,
  ...auditRoutes,
];
