import { html, type SafeHtml } from './html.js';
import { plural } from '../plural.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** "just now", "40 seconds ago", "3 minutes ago", "5 hours ago", or the date after a day. */
export function ago(date: Date, now: Date): string {
  const elapsed = Math.max(0, now.getTime() - date.getTime());
  if (elapsed < 10_000) {
    return 'just now';
  }
  if (elapsed < MINUTE) {
    return `${Math.floor(elapsed / 1000)} seconds ago`;
  }
  if (elapsed < HOUR) {
    return `${plural(Math.floor(elapsed / MINUTE), 'minute')} ago`;
  }
  if (elapsed < 24 * HOUR) {
    return `${plural(Math.floor(elapsed / HOUR), 'hour')} ago`;
  }
  return date.toISOString().slice(0, 10);
}

/** A `<time>` element: relative text, the exact instant (UTC) in its tooltip. */
export function timeTag(date: Date, now: Date): SafeHtml {
  const iso = date.toISOString();
  return html`<time datetime="${iso}" title="${iso.replace('T', ' ').slice(0, 19)} UTC"
    >${ago(date, now)}</time
  >`;
}
