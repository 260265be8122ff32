import { describe, expect, it } from 'vitest';
import { DEFAULT_MIME_TYPE, mimeTypeFor } from '../src/mime.ts';

describe('mimeTypeFor', () => {
  it.each([
    ['index.html', 'text/html'],
    ['/srv/a/INDEX.HTM', 'text/html'],
    ['style.css', 'text/css'],
    ['app.min.js', 'text/javascript'],
    ['data.json', 'application/json'],
    ['image.PNG', 'image/png'],
    ['photo.jpeg', 'image/jpeg'],
    ['archive.tar.gz', 'application/gzip'],
    ['results.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ])('%s is %s', (name, type) => {
    expect(mimeTypeFor(name)).toBe(type);
  });

  it.each(['README', '.bashrc', '/a.dir/file', 'file.unknownext', 'trailing.'])('%s falls back', (name) => {
    expect(mimeTypeFor(name)).toBe(DEFAULT_MIME_TYPE);
  });
});
