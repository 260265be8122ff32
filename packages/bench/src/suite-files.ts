import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { oneLine, type Profile, parseProfiles, parseSuite, ScenarioError, type Suite } from '@scaleup/core';
import { REPO_DIR } from './servers.ts';

export const DEFAULT_SUITE_PATH = join(REPO_DIR, 'scenarios/seed.json');
export const DEFAULT_PROFILES_PATH = join(REPO_DIR, 'scenarios/profiles.json');

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(path, [
      `cannot read: ${oneLine((error as NodeJS.ErrnoException).code ?? (error as Error).message)}`,
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(path, [`not JSON: ${oneLine((error as Error).message)}`]);
  }
}

export async function loadSuite(path = DEFAULT_SUITE_PATH): Promise<Suite> {
  return parseSuite(await readJson(path), path);
}

export async function loadProfiles(path = DEFAULT_PROFILES_PATH): Promise<Record<string, Profile>> {
  return parseProfiles(await readJson(path), path).profiles;
}
