// Which backends a test may run on here. webgpu needs a Vulkan driver (lavapipe, installed by
// .ci/run); where it is missing a developer's run skips those tests and says why, but CI fails.
import { initBackend } from '../../src-main/engine/runtime/backend.ts';
import { type BackendName } from '../../src-main/contract/api.ts';

export async function webgpuUnavailable(): Promise<string | null> {
  try {
    await initBackend('webgpu');
    return null;
  } catch (err) {
    const reason = `webgpu backend unavailable here (${(err as Error).message}); .ci/run installs Mesa's lavapipe for it`;
    if (process.env.CI) throw new Error(reason);
    return reason;
  }
}

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name);
}

/**
 * Starts `name` for the test in hand; where webgpu is missing here, skips the test and prints why
 * (under CI, webgpuUnavailable fails instead).
 */
export async function onBackendOrSkip(name: BackendName, ctx: { skip: () => void }): Promise<void> {
  if (name !== 'webgpu') {
    await initBackend(name);
    return;
  }
  const reason = await webgpuUnavailable();
  if (reason) {
    console.log(`skipped: ${reason}`);
    ctx.skip();
  }
}
