import { api } from '../support/api';
import {
  describeOffenders,
  drawRequests,
  type FuzzIdentities,
  fuzzRequestCount,
  fuzzRequests,
  fuzzSeed,
  operationsFromOpenApi,
  readiness,
  runFuzz,
} from '../support/fuzz';
import { createFuzzIdentities } from '../support/fuzz-identities';
import { platform } from '../support/platform';

/**
 * Malformed requests against every operation the OpenAPI document lists, as several roles and
 * as nobody: the gateway must answer each with a 4xx problem (never a 5xx) and stay ready.
 * FUZZ_REQUESTS sets how many (default 2000), FUZZ_SEED draws a failing run again;
 * `npm run bench:fuzz` is the long run.
 */
const requestCount = fuzzRequestCount(2000);
const seed = fuzzSeed();

describe('fuzz: malformed requests across every endpoint', () => {
  let identities: FuzzIdentities;

  beforeAll(async () => {
    identities = await createFuzzIdentities();
  });

  it(
    `answers ${requestCount} malformed requests with 4xx problems and stays ready`,
    async () => {
      const document = await api('GET', '/api/openapi.json');
      expect(document.status).toBe(200);
      const operations = operationsFromOpenApi(document.body);
      expect(operations.length).toBeGreaterThan(50);
      process.stdout.write(`fuzz: FUZZ_SEED=${seed}, ${requestCount} requests over ${operations.length} operations\n`);

      const report = await runFuzz({
        baseUrl: platform.TEST_GATEWAY_URL,
        requests: drawRequests(fuzzRequests(operations, identities), seed, requestCount),
        concurrency: 8,
        readinessEvery: 250,
      });
      process.stdout.write(`fuzz: ${report.sent} requests in ${(report.durationMs / 1000).toFixed(1)} s, by status ${JSON.stringify(report.countsByStatus)}\n`);

      if (report.offenderCount > 0) throw new Error(describeOffenders(report, seed));
      expect(report.readinessFailures).toEqual([]);
      // Every operation of the document was reached.
      expect(Object.keys(report.countsByOperation).length).toBe(Math.min(operations.length, requestCount));
      expect(await readiness(platform.TEST_GATEWAY_URL)).toBe(200);
    },
    Math.max(120_000, requestCount * 100),
  );
});
