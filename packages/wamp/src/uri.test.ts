import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isValidUri, matchPolicyOf, prefixMatches, wildcardMatches } from './uri.js';

describe('URIs (Basic Profile "URIs")', () => {
  it('takes loose URIs and refuses empty components, whitespace and # in exact ones', () => {
    for (const uri of ['com.myapp.topic1', 'com.MyApp.Topic-1', 'a', 'wamp.session.on_join']) expect(isValidUri(uri, 'loose'), uri).toBe(true);
    for (const uri of ['', 'a..b', '.a', 'a.', 'a b', 'a#b', 'a.\tb']) expect(isValidUri(uri, 'loose'), uri).toBe(false);
  });

  it('strict allows only lower-case letters, digits and _', () => {
    expect(isValidUri('com.myapp.topic_1', 'strict')).toBe(true);
    expect(isValidUri('com.MyApp.topic', 'strict')).toBe(false);
    expect(isValidUri('com.my-app', 'strict')).toBe(false);
  });

  it('allows empty components in wildcard patterns and an empty last component in prefixes', () => {
    expect(isValidUri('com.myapp..userevent', 'loose', 'wildcard')).toBe(true);
    expect(isValidUri('.a.', 'loose', 'wildcard')).toBe(true);
    expect(isValidUri('com.myapp.', 'loose', 'prefix')).toBe(true);
    expect(isValidUri('com..myapp', 'loose', 'prefix')).toBe(false);
    expect(isValidUri('a..b', 'loose', 'exact')).toBe(false);
  });

  it('matches prefixes on the string and wildcards component by component', () => {
    expect(prefixMatches('com.myapp.topic.emergency', 'com.myapp.topic.emergency-low')).toBe(true);
    expect(prefixMatches('com.myapp.topic.emergency', 'com.myapp.topic.emerge')).toBe(false);
    expect(wildcardMatches('com.myapp..userevent'.split('.'), 'com.myapp.foo.userevent')).toBe(true);
    expect(wildcardMatches('com.myapp..userevent'.split('.'), 'com.myapp.foo.userevent.bar')).toBe(false);
    expect(wildcardMatches('com.myapp..userevent'.split('.'), 'com.myapp.userevent')).toBe(false);
  });

  it('reads the match policy, exact by default', () => {
    expect(matchPolicyOf({})).toBe('exact');
    expect(matchPolicyOf({ match: undefined })).toBe('exact');
    expect(matchPolicyOf({ match: 'prefix' })).toBe('prefix');
    expect(matchPolicyOf({ match: 'glob' })).toBeUndefined();
  });

  test.prop([fc.array(fc.stringMatching(/^[a-z]{1,3}$/), { minLength: 1, maxLength: 4 })])('a valid exact URI is valid under every policy', (parts) => {
    const uri = parts.join('.');
    expect(isValidUri(uri, 'strict')).toBe(true);
    expect(isValidUri(uri, 'loose', 'prefix')).toBe(true);
    expect(isValidUri(uri, 'loose', 'wildcard')).toBe(true);
    expect(wildcardMatches(parts, uri)).toBe(true);
  });
});
