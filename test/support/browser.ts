// A real headless browser for tests: Debian's chromium driven by playwright-core, a fresh profile
// per launch, no network beyond what the page asks for. Screenshots go to test-results/ui/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const root = join(import.meta.dirname, '..', '..');
export const SCREENSHOT_DIR = join(root, 'test-results', 'ui');

/** scripts/setup.sh installs Debian's chromium here; CHROMIUM_PATH overrides it. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(`${path} not found: run scripts/setup.sh (installs Debian's chromium)`);
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // playwright-core gives every launch a fresh temporary --user-data-dir.
    args: [
      '--no-sandbox', // the tests run as root in CI containers
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, name);
}
