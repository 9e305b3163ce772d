import { readFileSync } from 'node:fs';
import path from 'node:path';
import { allTopics, deadLetterTopic, topics } from './catalog';

/**
 * The brokers of docker-compose and Kubernetes do not auto-create topics, and those files list
 * the topics by hand; this keeps the lists equal to the catalog that the local scripts use.
 */
describe('deployment topic lists', () => {
  const root = path.resolve(__dirname, '../../..');
  const entityTopics = Object.values(topics).sort();

  it.each(['deploy/docker-compose.yml', 'deploy/k8s/15-kafka-topics.yaml'])('%s creates every catalog topic and no other', (file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const loop = /for topic in ([\w. ]+); do/.exec(text);
    expect(loop?.[1]?.trim().split(/\s+/).sort()).toEqual(entityTopics);
    // Each entity topic gets its dead-letter twin in the same loop.
    expect(text).toMatch(/"\$+topic\.dlq"/);
    expect(allTopics).toEqual(Object.values(topics).flatMap((topic) => [topic, deadLetterTopic(topic)]));
  });
});
