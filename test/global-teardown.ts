/** Stops what globalSetup started: the services, then the infrastructure. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.lovepointsTestPlatform?.stop();
}
