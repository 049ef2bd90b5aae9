import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readCookie, setCookieName, withoutCookies } from '../../src/web/cookies.ts';

const gateway = new Set(['pp_session', 'pp_csrf']);

describe('removing the gateway\'s cookies from a Cookie header', () => {
  test('only the named cookies go; the others keep their bytes and order', () => {
    assert.equal(withoutCookies('theme=dark; pp_session=abc.def; lang="en-GB"; pp_csrf=t.1.s; x=a=b', gateway), 'theme=dark; lang="en-GB"; x=a=b');
  });

  test('a header without any of the names comes back exactly as sent, separators and all', () => {
    const header = 'theme=dark;lang=en;  a=1 ;b=';
    assert.equal(withoutCookies(header, gateway), header);
  });

  test('nothing left means no header: null', () => {
    assert.equal(withoutCookies('pp_session=abc; pp_csrf=t', gateway), null);
    assert.equal(withoutCookies('pp_session=abc', gateway), null);
    assert.equal(withoutCookies(' pp_session=abc ;; ', gateway), null);
  });

  test('an empty header has nothing to remove and stays as it is', () => {
    assert.equal(withoutCookies('', gateway), '');
  });

  test('every copy of a duplicated name is removed, so none can be replayed', () => {
    assert.equal(withoutCookies('pp_session=first; theme=dark; pp_session=second', gateway), 'theme=dark');
  });

  test('names are matched exactly: pp_session_x, xpp_session, PP_SESSION and a value containing pp_session= stay', () => {
    const header = 'pp_session_x=1; xpp_session=2; PP_SESSION=3; note=pp_session=4';
    assert.equal(withoutCookies(header, gateway), header);
  });

  test('spaces around a name do not hide it, since the gateway reads such a cookie as its own', () => {
    const header = 'theme=dark;pp_session =abc;  pp_csrf=t;\tlang=en';
    assert.equal(readCookie({ cookie: header }, 'pp_session'), 'abc');
    assert.equal(withoutCookies(header, gateway), 'theme=dark; lang=en');
  });

  test('a nameless cookie and empty segments are kept or dropped without touching the others', () => {
    assert.equal(withoutCookies('flag; pp_session=abc;; theme=dark;', gateway), 'flag; theme=dark');
    assert.equal(withoutCookies('=x; pp_csrf=t', gateway), '=x');
  });
});

test('setCookieName is the name a browser sends back: trimmed, up to the first =, and for a nameless pair the name inside its value', () => {
  assert.equal(setCookieName('pp_session=abc; Path=/'), 'pp_session');
  assert.equal(setCookieName('  pp_csrf =x'), 'pp_csrf');
  assert.equal(setCookieName('theme=a=b'), 'theme');
  assert.equal(setCookieName('=pp_session=planted; Path=/app'), 'pp_session');
  assert.equal(setCookieName('= pp_session =planted'), 'pp_session');
  assert.equal(setCookieName('=justavalue'), '');
  assert.equal(setCookieName('novalue'), '');
  assert.equal(setCookieName('a; b=c'), '', 'the pair ends at the first ;');
});
