import { describe, expect, it } from 'vitest';
import { formatRelative } from './format';
import { MAP, inviteUrl, isAdminOnly, parseRoute, redirect, routeHash } from './route';

describe('parseRoute', () => {
  it('makes the map the default', () => {
    for (const h of ['', '#', '#/', '#//', '#/nowhere', '#/tokens/extra', '#/invite/', '#/map']) expect(parseRoute(h)).toEqual(MAP);
  });
  it('reads every page', () => {
    for (const p of ['probes', 'tokens', 'members', 'audit', 'signin', 'signup'] as const) {
      expect(parseRoute(`#/${p}`)).toEqual({ page: p });
      expect(parseRoute(`#/${p}/`)).toEqual({ page: p });
      expect(parseRoute(`#${p}`)).toEqual({ page: p });
    }
    expect(parseRoute('#/tokens?x=1')).toEqual({ page: 'tokens' });
  });
  it('reads invite secrets, encoded or not', () => {
    expect(parseRoute('#/invite/abc_DEF-123')).toEqual({ page: 'invite', secret: 'abc_DEF-123' });
    expect(parseRoute('#/invite/a%2Bb%3D')).toEqual({ page: 'invite', secret: 'a+b=' });
    expect(parseRoute('#/invite/%E0%A4%A')).toEqual({ page: 'invite', secret: '%E0%A4%A' });
  });
  it('round-trips', () => {
    for (const r of [MAP, { page: 'tokens' as const }, { page: 'invite' as const, secret: 'x/y+z' }]) expect(parseRoute(routeHash(r))).toEqual(r);
    expect(routeHash(MAP)).toBe('#/');
  });
});

describe('redirect', () => {
  it('sends every private page to sign-in without a session', () => {
    for (const p of ['map', 'probes', 'tokens', 'members', 'audit'] as const) expect(redirect({ page: p }, false, null)).toEqual({ page: 'signin' });
    expect(redirect({ page: 'signup' }, false, null)).toBeNull();
    expect(redirect({ page: 'signin' }, false, null)).toBeNull();
    expect(redirect({ page: 'invite', secret: 's' }, false, null)).toBeNull();
  });
  it('sends sign-in and sign-up to where the user was headed once signed in', () => {
    expect(redirect({ page: 'signin' }, true, null)).toEqual(MAP);
    expect(redirect({ page: 'signup' }, true, { page: 'tokens' })).toEqual({ page: 'tokens' });
    expect(redirect({ page: 'tokens' }, true, null)).toBeNull();
    expect(redirect({ page: 'invite', secret: 's' }, true, null)).toBeNull();
  });
  it('knows admin pages', () => {
    expect(isAdminOnly({ page: 'tokens' })).toBe(true);
    expect(isAdminOnly({ page: 'audit' })).toBe(true);
    expect(isAdminOnly({ page: 'members' })).toBe(false);
    expect(isAdminOnly({ page: 'probes' })).toBe(false);
  });
  it('builds absolute invite links', () => {
    expect(inviteUrl('https://scope.example', '', '/#/invite/abc')).toBe('https://scope.example/#/invite/abc');
    expect(inviteUrl('https://x', '/scope', '/#/invite/abc')).toBe('https://x/scope/#/invite/abc');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it('reads like a person would say it', () => {
    expect(formatRelative(now, now)).toBe('just now');
    expect(formatRelative(now - 1400, now)).toBe('just now');
    expect(formatRelative(now - 42_000, now)).toBe('42 s ago');
    expect(formatRelative(now - 59_400, now)).toBe('59 s ago');
    expect(formatRelative(now - 59_600, now)).toBe('1 min ago');
    expect(formatRelative(now - 5 * 60_000 - 10_000, now)).toBe('5 min ago');
    expect(formatRelative(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(formatRelative(now - 2 * 86400_000, now)).toBe('2 d ago');
    expect(formatRelative(now + 10 * 60_000, now)).toBe('in 10 min');
    expect(formatRelative(now + 7 * 86400_000, now)).toBe('in 7 d');
  });
  it('gives a date for old times and "never" for none', () => {
    expect(formatRelative(Date.parse('2025-01-15T00:00:00Z'), now)).toBe('2025-01-15');
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative(undefined, now)).toBe('never');
    expect(formatRelative(0, now)).toBe('never');
  });
});
