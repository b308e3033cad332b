import { toMilliseconds } from './duration.js';

describe('toMilliseconds', () => {
  it.each([
    [1500, 1500],
    ['500ms', 500],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
  ])('reads %p as %p ms', (input, expected) => {
    expect(toMilliseconds(input)).toBe(expected);
  });

  it.each(['', '10', '10 years', '-5m', 'm', '1e3s'])('refuses %p', (input) => {
    expect(toMilliseconds(input)).toBeNaN();
  });

  it('refuses negative and non-finite numbers', () => {
    expect(toMilliseconds(-1)).toBeNaN();
    expect(toMilliseconds(Number.POSITIVE_INFINITY)).toBeNaN();
  });
});
