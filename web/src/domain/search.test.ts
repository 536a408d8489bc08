import { describe, expect, it } from 'vitest';
import { makeRegExp, matchesAll, matchingIds, parseAll, parseQuery, parseValue, searchNode, slugify } from './search';
import { container, process } from '../test/fixtures';

describe('parseQuery', () => {
  it('plain text', () => {
    expect(parseQuery('nginx')).toEqual({ kind: 'text', query: 'nginx' });
    expect(parseQuery('  ')).toBeNull();
  });
  it('field: value', () => {
    expect(parseQuery('pid: 123')).toEqual({ kind: 'text', prefix: 'pid', query: '123' });
    expect(parseQuery('pid:')).toBeNull();
    // More than one colon is plain text (URLs, ids).
    expect(parseQuery('a:b:c')).toEqual({ kind: 'text', query: 'a:b:c' });
  });
  it('metric comparisons with 1024 suffixes', () => {
    expect(parseQuery('cpu > 4%')).toEqual({ kind: 'metric', metric: 'cpu', comp: 'gt', value: 4 });
    expect(parseQuery('memory < 10mb')).toEqual({ kind: 'metric', metric: 'memory', comp: 'lt', value: 10 * 1024 * 1024 });
    expect(parseQuery('open files = 3')).toEqual({ kind: 'metric', metric: 'open files', comp: 'eq', value: 3 });
    expect(parseQuery('cpu >')).toBeNull();
  });
  it('text with < or > that is no comparison searches as text', () => {
    expect(parseQuery('<container>')).toEqual({ kind: 'text', query: '<container>' });
    expect(parseQuery('a=b')).toEqual({ kind: 'text', query: 'a=b' });
  });
  it('parseValue', () => {
    expect(parseValue('2k')).toBe(2048);
    expect(parseValue('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseValue('1t')).toBe(1024 ** 4);
    expect(parseValue('7')).toBe(7);
    expect(parseValue('x')).toBeNaN();
  });
  it('slugify and regex fallback', () => {
    expect(slugify('Image name')).toBe('imagename');
    expect(slugify('# Threads')).toBe('threads');
    expect(makeRegExp('foo(').test('xfoo(')).toBe(true);
    expect(makeRegExp('FOO').test('foo')).toBe(true);
  });
});

describe('searchNode', () => {
  const web = container('web-1', { cpu: 5, mem: 20 * 1024 * 1024, ip: '172.17.0.9' });
  const db = container('db', { cpu: 1, mem: 5 * 1024 * 1024, image: 'postgres' });
  const q = (s: string) => {
    const p = parseQuery(s);
    if (!p) throw new Error(`unparsed ${s}`);
    return p;
  };

  it('matches label, minor label, metadata, parents and property lists', () => {
    expect(searchNode(web, q('WEB'))[0]).toMatchObject({ field: 'label', start: 0, length: 3 });
    expect(searchNode(web, q('172\\.17\\.0\\.9')).map((m) => m.field)).toEqual(['metadata.docker_container_ips']);
    expect(searchNode(db, q('postgres')).map((m) => m.field)).toContain('parents.postgres;<container_image>');
    expect(searchNode(web, q('example\\.com')).map((m) => m.field)).toEqual(['tables.label_maintainer']);
    expect(searchNode(web, q('nothing-like-this'))).toEqual([]);
  });

  it('field prefixes match slugified labels', () => {
    // The prefix is an unanchored regex over slugs, so "image" also hits the containers-by-image parent.
    expect(searchNode(db, q('image: postgres')).map((m) => m.field)).toEqual(['metadata.docker_image_name', 'parents.postgres;<container_image>']);
    expect(searchNode(db, q('imagename: postgres')).map((m) => m.field)).toEqual(['metadata.docker_image_name']);
    expect(searchNode(db, q('command: postgres'))).toEqual([]);
    expect(searchNode(web, q('containersbyimage: busybox')).map((m) => m.field)).toEqual(['parents.scope-test-busybox;<container_image>']);
    expect(searchNode(process(42, 'nginx'), q('pid: 42')).map((m) => m.field)).toEqual(['metadata.pid']);
  });

  it('metric comparisons', () => {
    expect(searchNode(web, q('cpu > 4%'))).toHaveLength(1);
    expect(searchNode(db, q('cpu > 4%'))).toHaveLength(0);
    expect(searchNode(db, q('memory < 10mb'))).toHaveLength(1);
    expect(searchNode(web, q('memory < 10mb'))).toHaveLength(0);
    expect(searchNode(web, q('nosuchmetric > 0'))).toHaveLength(0);
  });

  it('an invalid regex is matched literally', () => {
    const odd = container('a(b');
    expect(searchNode(odd, q('a(b'))[0]).toMatchObject({ field: 'label', start: 0, length: 3 });
  });

  it('pinned searches AND together', () => {
    const nodes = [web, db];
    const both = parseAll('', ['busybox', 'cpu > 4%']);
    expect(matchingIds(nodes, both)).toEqual(new Set([web.id]));
    expect(matchesAll(db, both)).toBe(false);
    expect(matchingIds(nodes, parseAll('', []))).toBeNull();
    // A half-typed live query does not hide everything.
    expect(matchingIds(nodes, parseAll('pid:', ['busybox']))).toEqual(new Set([web.id]));
  });
});
