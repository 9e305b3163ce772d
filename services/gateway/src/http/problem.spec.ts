import { createLogger } from '@lovepoints/logging';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { problemHandler } from './problem';

/** A request that express's own layers refuse must get a 400 problem, never a 500. */
describe('problemHandler: requests express itself refuses', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.post('/things/:id', (_request, response) => {
      response.json({ ok: true });
    });
    app.use(problemHandler(createLogger('problem-spec', 'silent')));
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (path: string, headers: Record<string, string>, body: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body });
    return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as { code?: string } };
  };

  it('answers a path parameter that is not valid percent-encoding with 400 malformed_path', async () => {
    const answer = await post('/things/%E0%A4%A', { 'content-type': 'application/json' }, '{}');
    expect([answer.status, answer.body.code]).toEqual([400, 'malformed_path']);
    expect(answer.contentType).toContain('application/problem+json');
  });

  it('answers a body that does not decompress as its Content-Encoding says with 400 malformed_body', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const answer = await post('/things/1', { 'content-type': 'application/json', 'content-encoding': encoding }, '{"a":1}');
      expect([encoding, answer.status, answer.body.code]).toEqual([encoding, 400, 'malformed_body']);
    }
  });

  it('still answers bad JSON and good requests as before', async () => {
    expect((await post('/things/1', { 'content-type': 'application/json' }, '{')).body.code).toBe('malformed_body');
    expect((await post('/things/1', { 'content-type': 'application/json' }, '{}')).status).toBe(200);
  });
});
