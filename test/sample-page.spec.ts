import { describe, expect, it } from '@jest/globals';
import { deviceLabel, isMobile } from '../sample/src/device-label.js';
import { escapeHtml, html } from '../sample/src/page/html.js';
import { ago } from '../sample/src/page/time.js';

describe("the sample page's helpers", () => {
  it.each([
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/140.0 Mobile/15E148 Safari/604.1',
      'Chrome on iOS',
    ],
    ['Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0', 'Firefox on Android'],
    ['curl/8.5.0', 'curl'],
    ['<script>alert(1)</script>', 'Unknown device'],
    ['', 'Unknown device'],
    [null, 'Unknown device'],
  ])('labels %j as %j', (userAgent, label) => {
    expect(deviceLabel(userAgent)).toBe(label);
  });

  it('tells phones from desktops', () => {
    expect(isMobile('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148')).toBe(
      true,
    );
    expect(isMobile('Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0')).toBe(false);
    expect(isMobile(null)).toBe(false);
  });

  it('escapes every interpolated value, in text and attributes, but not nested templates', () => {
    const hostile = `"><img src=x onerror='alert(1)'>&`;
    expect(escapeHtml(hostile)).toBe('&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;');
    const markup = html`<p title="${hostile}">${hostile}${html`<b>${hostile}</b>`}</p>`;
    expect(markup.toString()).toBe(
      `<p title="${escapeHtml(hostile)}">${escapeHtml(hostile)}<b>${escapeHtml(hostile)}</b></p>`,
    );
    expect(html`${['<i>', html`<i></i>`]}${null}${undefined}${false}${0}`.toString()).toBe(
      '&lt;i&gt;<i></i>0',
    );
  });

  it('says how long ago, in words', () => {
    const now = new Date('2026-05-01T12:00:00Z');
    const before = (ms: number) => new Date(now.getTime() - ms);
    expect(ago(before(5_000), now)).toBe('just now');
    expect(ago(before(42_500), now)).toBe('42 seconds ago');
    expect(ago(before(60_000), now)).toBe('1 minute ago');
    expect(ago(before(61 * 60_000), now)).toBe('1 hour ago');
    expect(ago(before(3 * 86_400_000), now)).toBe('2026-04-28');
  });
});
