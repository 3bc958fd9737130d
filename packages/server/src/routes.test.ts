import { describe, expect, it } from 'vitest';
import { RegistryError } from '@protoplex/core';
import { echo } from './_test-adapters.js';
import { compileRoutes, matchRoute, splitTarget } from './routes.js';

const routes = compileRoutes([
  { path: '/', adapters: [echo()] },
  { path: '/chat', adapters: [echo()] },
  { path: '/ocpp/:identity', adapters: [echo()] },
  { path: '/a/:x/b/:y', adapters: [echo()] },
]);

const paramsOf = (path: string): unknown => {
  const m = matchRoute(routes, path);
  return m.type === 'match' ? { route: m.route.path, params: m.params } : m.type;
};

describe('matchRoute', () => {
  it.each([
    ['/', { route: '/', params: {} }],
    ['/chat', { route: '/chat', params: {} }],
    ['/chat/', { route: '/chat', params: {} }],
    ['/ocpp/CP1', { route: '/ocpp/:identity', params: { identity: 'CP1' } }],
    ['/ocpp/CP1/', { route: '/ocpp/:identity', params: { identity: 'CP1' } }],
    ['/ocpp/CP%2F1', { route: '/ocpp/:identity', params: { identity: 'CP/1' } }],
    ['/ocpp/%E2%82%AC', { route: '/ocpp/:identity', params: { identity: '€' } }],
    ['/a/1/b/2', { route: '/a/:x/b/:y', params: { x: '1', y: '2' } }],
  ])('matches %s', (path, expected) => {
    expect(paramsOf(path)).toEqual(expected);
  });

  it.each(['/chat//', '//', '/ocpp/', '/ocpp//', '/ocpp/a/b', '/Chat', '/nope', '', '*'])('does not match %j', (path) => {
    expect(paramsOf(path)).toBe('not-found');
  });

  it.each(['/ocpp/%zz', '/ocpp/%', '/ocpp/%E2%82', '/chat%'])('reports a malformed percent-encoding in %s', (path) => {
    expect(paramsOf(path)).toBe('malformed');
  });

  it('gives the decoded path', () => {
    const m = matchRoute(routes, '/ocpp/CP%201');
    expect(m.type === 'match' && m.path).toBe('/ocpp/CP 1');
  });
});

describe('compileRoutes', () => {
  it.each([
    ['no leading slash', 'chat'],
    ['an empty segment', '/a//b'],
    ['a bad parameter name', '/a/:1x'],
    ['a repeated parameter', '/a/:x/:x'],
  ])('refuses a path with %s', (_what, path) => {
    expect(() => compileRoutes([{ path, adapters: [echo()] }])).toThrow(TypeError);
  });

  it('refuses two routes that match the same paths', () => {
    expect(() => compileRoutes([{ path: '/a/:x', adapters: [echo()] }, { path: '/a/:y/', adapters: [echo()] }])).toThrow(/match the same paths/);
  });

  it('refuses a route without adapters', () => {
    expect(() => compileRoutes([{ path: '/', adapters: [] }])).toThrow(TypeError);
  });

  it('lets registration errors from core through at creation', () => {
    expect(() => compileRoutes([{ path: '/', adapters: [echo(), echo({ name: 'twin' })] }])).toThrow(RegistryError);
  });
});

describe('splitTarget', () => {
  it('splits origin-form and reduces absolute-form to its path', () => {
    expect(splitTarget('/a/b?x=1&y')).toEqual({ path: '/a/b', query: 'x=1&y' });
    expect(splitTarget('http://host:1/p?q')).toEqual({ path: '/p', query: 'q' });
    expect(splitTarget('*')).toEqual({ path: '', query: '' });
  });
});

describe('per-route permessage-deflate', () => {
  const small = { serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 };
  const plain = (name: string) => echo({ name, protocols: [`${name}.test`] });
  const withPreference = (name: string) => ({ ...plain(name), perMessageDeflate: small });

  it('takes the adapters’ preference when they all give the same one, in ws’s terms', () => {
    const [route] = compileRoutes([{ path: '/ocpp/:id', adapters: [withPreference('a')] }]);
    expect(route!.perMessageDeflate).toEqual({
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 10,
      zlibDeflateOptions: { chunkSize: 1024, memLevel: 4, windowBits: 10 },
      zlibInflateOptions: { chunkSize: 1024, windowBits: 10 },
    });
  });

  it('keeps the server’s setting for a route mixing adapters with and without one, and lets the route decide', () => {
    const [mixed, own, none] = compileRoutes([
      { path: '/mixed', adapters: [withPreference('a'), plain('b')] },
      { path: '/own', adapters: [withPreference('c')], perMessageDeflate: false },
      { path: '/none', adapters: [plain('d')] },
    ]);
    expect(mixed!.perMessageDeflate).toBeUndefined();
    expect(own!.perMessageDeflate).toBe(false);
    expect(none!.perMessageDeflate).toBeUndefined();
  });
});
