import { strFromU8, strToU8, type Unzipped, unzipSync, type Zippable, zipSync } from 'fflate';

/** Zip entries in the order they will be written; the order is part of the bytes. */
export type ZipEntries = Map<string, Uint8Array>;

export function readZip(bytes: Uint8Array): ZipEntries {
  const files: Unzipped = unzipSync(bytes);
  return new Map(Object.entries(files));
}

export function getText(entries: ZipEntries, path: string): string {
  const data = entries.get(path);
  if (data === undefined) throw new Error(`zip entry ${path} is missing`);
  return strFromU8(data);
}

export function setText(entries: ZipEntries, path: string, text: string): void {
  entries.set(path, strToU8(text));
}

/**
 * fflate writes the DOS timestamp from the Date's local-time fields, so the same instant gives
 * different bytes in different time zones. A Date whose local fields equal the wanted UTC
 * fields writes the same bytes everywhere; in the rare hour a local DST jump skips, noon is used.
 */
function zoneFreeMtime(date: Date): Date {
  const local = new Date(
    date.getUTCFullYear(),
    date.getUTCMonth(),
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  );
  if (local.getHours() === date.getUTCHours() && local.getDate() === date.getUTCDate()) return local;
  return new Date(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), 12, 0, 0);
}

/** Re-zips with one fixed date on every entry: byte-identical output for identical input. */
export function writeZip(entries: ZipEntries, date: Date): Uint8Array {
  const mtime = zoneFreeMtime(date);
  const files: Zippable = {};
  // [Content_Types].xml first, as Office writes it; some readers sniff the first entry.
  const names = [...entries.keys()];
  const ordered = [
    ...names.filter((n) => n === '[Content_Types].xml'),
    ...names.filter((n) => n !== '[Content_Types].xml'),
  ];
  for (const name of ordered) files[name] = [entries.get(name)!, { mtime, level: 6 }];
  return zipSync(files, { mtime });
}
