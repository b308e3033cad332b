import { describe, expect, it } from '@jest/globals';
import { Keyring } from '../crypto/keyring.js';
import { generateToken } from '../crypto/session-token.js';
import { DATA_KEY_MEMO_SIZE, OPENED_VALUE_MEMO_SIZE, SessionValues } from './session-values.js';

const S1 = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';
const S2 = 'Yq3!Lm8@Zr5#Tw2$Kp9%Vx6^Bn4&Hd7*';
const ID = 'session-id-A';
const JSON_VALUE = '{"roles":["admin"]}';

const keyring = (...secrets: string[]) => new Keyring(secrets, 'data-encryption');

describe('SessionValues (encryption at rest)', () => {
  it('opens on a later request what an earlier one sealed, under the same token', () => {
    const keys = keyring(S1);
    const token = generateToken();
    const stored = new SessionValues(keys, token).stored(ID, 'roles', JSON_VALUE);
    expect(stored).not.toContain('admin');
    for (let request = 0; request < 3; request++) {
      expect(new SessionValues(keys, token).plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    }
  });

  it('remembers the data key and the opened value: a later request derives and decrypts nothing', () => {
    const master = keyring(S1);
    const token = generateToken();
    const stored = new SessionValues(master, token).stored(ID, 'roles', JSON_VALUE);
    expect(new SessionValues(master, token).plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    // With the master key's bytes gone, only what was remembered can still answer.
    master.primary.key.fill(0);
    expect(new SessionValues(master, token).plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    const resealed = new SessionValues(master, token).stored(ID, 'theme', '"dark"');
    expect(new SessionValues(master, token).plain(ID, 'theme', resealed)).toBe('"dark"');
  });

  it('never lets a remembered opening answer for another token, context or stored text', () => {
    const keys = keyring(S1);
    const token = generateToken();
    const values = new SessionValues(keys, token);
    const stored = values.stored(ID, 'roles', JSON_VALUE);
    expect(values.plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    expect(new SessionValues(keys, generateToken()).plain(ID, 'roles', stored)).toBeNull();
    expect(new SessionValues(keys, null).plain(ID, 'roles', stored)).toBeNull();
    expect(values.plain('session-id-B', 'roles', stored)).toBeNull();
    expect(values.plain(ID, 'theme', stored)).toBeNull();
    const tampered = `${stored.slice(0, -2)}${stored.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(values.plain(ID, 'roles', tampered)).toBeNull();
    expect(values.plain(ID, 'roles', stored)).toBe(JSON_VALUE);
  });

  it('keeps data keys with a newline apart: no remembered opening answers for a look-alike', () => {
    const values = new SessionValues(keyring(S1), generateToken());
    const stored = values.stored(ID, 'a\nb', JSON_VALUE);
    expect(values.plain(ID, 'a\nb', stored)).toBe(JSON_VALUE);
    // `${ID}/a` + newline + `b\n${stored}` joins to the same text as the remembered entry.
    expect(values.plain(ID, 'a', `b\n${stored}`)).toBeNull();
  });

  it('forgets everything remembered for a secret that leaves the secret list', () => {
    const token = generateToken();
    const before = keyring(S1);
    const stored = new SessionValues(before, token).stored(ID, 'roles', JSON_VALUE);
    expect(new SessionValues(before, token).plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    // Rotation: the old secret still opens (second place), with keys derived anew.
    const rotated = keyring(S2, S1);
    expect(new SessionValues(rotated, token).plain(ID, 'roles', stored)).toBe(JSON_VALUE);
    expect(new SessionValues(rotated, token).isStale(stored)).toBe(true);
    // Retired: nothing remembered under it opens the value any more.
    expect(new SessionValues(keyring(S2), token).plain(ID, 'roles', stored)).toBeNull();
  });

  it('stays correct past its bounds (the memos are emptied, values open again)', () => {
    const keys = keyring(S1);
    const first = generateToken();
    const firstStored = new SessionValues(keys, first).stored(ID, 'k', '1');
    expect(new SessionValues(keys, first).plain(ID, 'k', firstStored)).toBe('1');
    const rounds = Math.max(DATA_KEY_MEMO_SIZE, OPENED_VALUE_MEMO_SIZE) + 10;
    for (let i = 0; i < rounds; i++) {
      const values = new SessionValues(keys, `token-${i}`);
      expect(values.plain(ID, 'k', values.stored(ID, 'k', String(i)))).toBe(String(i));
    }
    expect(new SessionValues(keys, first).plain(ID, 'k', firstStored)).toBe('1');
  });

  it('keeps values as they are without encryption at rest', () => {
    const values = new SessionValues(null, generateToken());
    expect(values.stored(ID, 'roles', JSON_VALUE)).toBe(JSON_VALUE);
    expect(values.plain(ID, 'roles', JSON_VALUE)).toBe(JSON_VALUE);
    expect(values.isStale(JSON_VALUE)).toBe(false);
  });
});
